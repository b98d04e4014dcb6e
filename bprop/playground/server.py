"""The playground's web server: a Starlette application serving the page and one WebSocket per session.

Imported only by ``bprop playground`` and the tests (Starlette and uvicorn come
with ``pip install bprop[playground]``). Each WebSocket connection gets its own
:class:`~bprop.playground.session.Session`, whose worker thread trains; the
connection's sender task forwards what the session publishes, keeping only the
newest of the snapshots not yet sent, so a slow browser never falls behind.

Safety: the ``Host`` header of every request and the ``Origin`` of every
WebSocket must name one of ``allowed_hosts`` (against DNS rebinding and
cross-site WebSocket hijacking); a message over :data:`MAX_MESSAGE_BYTES` or
one that is not a JSON object gets an ``error`` reply, never a crash; at most
``max_sessions`` connections are served at once.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
from importlib import resources
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from .session import MAX_CSV_BYTES, ProtocolError, Session

#: the largest WebSocket message accepted (an upload is a CSV of at most MAX_CSV_BYTES, as JSON text)
MAX_MESSAGE_BYTES = 2 * MAX_CSV_BYTES + 4096
#: connections served at once
MAX_SESSIONS = 8
LANGS = ("en", "zh")
#: WebSocket close codes: policy violation (bad Origin), try again later (too many sessions)
CLOSE_POLICY, CLOSE_BUSY = 1008, 1013


def static_dir():
    """The folder of the page's files (package data)."""
    return resources.files("bprop.playground") / "static"


def _hostname(value: str) -> str:
    """``host`` of ``host:port`` or ``[::1]:port``, lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _json_safe(obj):
    """NaN and ±inf (a test loss with no test data, a diverged loss) become null: JSON has no NaN."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def encode(msg: dict) -> str:
    return json.dumps(_json_safe(msg), allow_nan=False, separators=(",", ":"))


def create_app(*, lang: str = "en", allowed_hosts=("127.0.0.1", "localhost", "::1"),
               max_sessions: int = MAX_SESSIONS) -> Starlette:
    """The playground application.

    Parameters
    ----------
    lang : "en" or "zh"
        The page's language at first (the page has a toggle).
    allowed_hosts : sequence of str
        Host names accepted in ``Host`` and ``Origin`` (the address the server is bound to, and its aliases).
    max_sessions : int
        WebSocket connections served at once; one more is closed with code 1013.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    allowed = {h.lower().strip("[]") for h in allowed_hosts}
    sessions: set[Session] = set()
    slots = [0]                        # connections being served
    folder = static_dir()
    page = (folder / "index.html").read_text(encoding="utf-8").replace("{{LANG}}", lang)

    def host_ok(headers) -> bool:
        return _hostname(headers.get("host", "")) in allowed

    def origin_ok(headers) -> bool:
        origin = headers.get("origin")
        if origin is None:          # not a browser (a script on this machine); the Host check still applies
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in allowed

    async def index(request):
        if not host_ok(request.headers):
            return PlainTextResponse("bad Host header: open the playground at the address it printed", 400)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def socket(ws: WebSocket):
        if not host_ok(ws.headers) or not origin_ok(ws.headers):
            await ws.close(code=CLOSE_POLICY)      # before accept: the handshake is refused (HTTP 403)
            return
        await ws.accept()
        if slots[0] >= max_sessions:
            await ws.send_text(encode({"type": "error", "message": f"the playground serves {max_sessions} "
                                       "sessions at once; close another tab and reload"}))
            await ws.close(code=CLOSE_BUSY)
            return
        slots[0] += 1                  # taken before any await, so that two connections cannot share the last one
        try:
            await _serve(ws)
        finally:
            slots[0] -= 1

    async def _serve(ws: WebSocket):
        loop = asyncio.get_running_loop()
        pending: collections.deque = collections.deque()
        ready = asyncio.Event()

        def deliver(msg):              # on the event loop: the newest snapshot replaces an unsent one
            if msg.get("type") == "snapshot" and pending and pending[-1].get("type") == "snapshot":
                pending[-1] = msg
            else:
                pending.append(msg)
            ready.set()

        def publish(msg):              # from the session's thread
            try:
                loop.call_soon_threadsafe(deliver, msg)
            except RuntimeError:       # the server has stopped: nobody to tell
                pass

        session = await asyncio.to_thread(Session, publish)
        sessions.add(session)

        async def sender():
            while True:
                await ready.wait()
                ready.clear()
                while pending:
                    await ws.send_text(encode(pending.popleft()))

        task = asyncio.create_task(sender())
        try:
            while True:
                event = await ws.receive()
                if event["type"] == "websocket.disconnect":
                    break
                text = event.get("text")
                if text is None:
                    text = (event.get("bytes") or b"").decode("utf-8", "replace")
                for reply in await asyncio.to_thread(_answer, session, text):
                    deliver(reply)
                if task.done():
                    break
        except WebSocketDisconnect:
            pass
        finally:
            task.cancel()
            sessions.discard(session)
            await asyncio.to_thread(session.close)

    async def health(request):
        return Response("ok", media_type="text/plain")

    app = Starlette(routes=[Route("/", index), Route("/health", health), WebSocketRoute("/ws", socket),
                            Mount("/static", app=StaticFiles(directory=str(folder)), name="static")],
                    middleware=[Middleware(_HostCheck, host_ok=host_ok)])
    app.state.sessions = sessions
    return app


class _HostCheck:
    """ASGI middleware: a request whose ``Host`` is not an allowed name gets 400 (a WebSocket: refused)."""

    def __init__(self, app, host_ok):
        self.app, self.host_ok = app, host_ok

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            if not self.host_ok(headers):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": CLOSE_POLICY})
                else:
                    await PlainTextResponse("bad Host header: open the playground at the address it printed",
                                            400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _answer(session: Session, text: str) -> list[dict]:
    """The replies to one message: the session's, or one ``error`` naming what was wrong."""
    if len(text) > MAX_MESSAGE_BYTES:
        return [{"type": "error", "message": f"message of {len(text)} bytes is over the limit of "
                 f"{MAX_MESSAGE_BYTES} bytes; upload a smaller CSV (at most {MAX_CSV_BYTES // 1024} KiB)"}]
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        return [{"type": "error", "message": f"message is not JSON ({exc}); send an object such as "
                 '{"type": "play"}'}]
    try:
        return session.handle(msg)
    except (ProtocolError, ValueError, TypeError, FloatingPointError, KeyError) as exc:
        kind = msg.get("type") if isinstance(msg, dict) else None
        error = {"type": "error", "message": str(exc), "request": kind if isinstance(kind, str) else None}
        if isinstance(msg, dict) and "seq" in msg:
            error["seq"] = msg["seq"]
        return [error]
