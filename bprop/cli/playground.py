"""Start the playground: a local web page where a network trains live, every number computed by bprop.

TensorFlow Playground's controls (data sets, features, layers, activation,
learning rate, regularisation, play/pause/step/reset, heatmaps, loss curves)
plus the numbers: hover a neuron for z, a and δ, an edge for w, ∂C/∂w and the
last update; step mode writes out BP1–BP4 with the numbers substituted.
Training runs on this machine in bprop itself, one thread per browser tab.
The page needs no internet. Stop the server with Ctrl-C.
Needs the extra: pip install "bprop[playground]" (included in "bprop[cli]").
"""

from __future__ import annotations

import socket
import sys
import threading

from .options import UsageError, add_parser

EXAMPLES = """\
  bprop playground                               # opens the page in the browser
  bprop playground --port 8765 --no-browser      # then open http://127.0.0.1:8765/
  bprop playground --lang zh                     # the page in simplified Chinese
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "playground", __doc__, EXAMPLES)
    p.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                   help="address to listen on (default 127.0.0.1, this machine only), e.g. --host 127.0.0.1")
    p.add_argument("--port", type=int, default=0, metavar="N",
                   help="port to listen on; 0 (default) takes a free one, e.g. --port 8765")
    p.add_argument("--no-browser", dest="browser", action="store_false", default=True,
                   help="print the address but do not open a browser, e.g. --no-browser")
    p.add_argument("--lang", default="en", metavar="LANG",
                   help="language of the page: en (default) or zh (简体中文), e.g. --lang zh")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.lang not in ("en", "zh"):
        raise UsageError(f"--lang: unknown language {args.lang!r}; valid languages: en, zh")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: expected 0 (any free port) to 65535, got {args.port}")
    try:
        import uvicorn

        from ..playground.server import MAX_MESSAGE_BYTES, create_app
    except ImportError as exc:
        raise ImportError(f"bprop playground needs Starlette and uvicorn ({exc}); install them with: "
                          'pip install "bprop[playground]"') from None
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                      "choose another --port, or 0 for any free one") from None
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    url = f"http://{shown}:{port}/"
    allowed = {"127.0.0.1", "localhost", "::1", args.host}
    app = create_app(lang=args.lang, allowed_hosts=sorted(allowed))
    config = uvicorn.Config(app, log_level="warning", ws_max_size=MAX_MESSAGE_BYTES, lifespan="off",
                            ws_ping_interval=20, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    print(f"bprop playground: {url}  (Ctrl-C stops it)", flush=True)
    if args.browser:
        import webbrowser

        opener = threading.Timer(0.5, webbrowser.open, args=(url,))   # once the server listens
        opener.daemon = True
        opener.start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()
    return 0
