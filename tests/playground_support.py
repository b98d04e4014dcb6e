"""Shared by the playground tests: a real uvicorn server on a free port, in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


@contextlib.contextmanager
def running_server(**kwargs):
    """``(url, app)`` of :func:`bprop.playground.server.create_app` served by uvicorn on 127.0.0.1:<free port>."""
    import uvicorn

    from bprop.playground.server import MAX_MESSAGE_BYTES, create_app

    app = create_app(**kwargs)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws_max_size=MAX_MESSAGE_BYTES))
    server.install_signal_handlers = lambda: None   # not the main thread (older uvicorn)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
