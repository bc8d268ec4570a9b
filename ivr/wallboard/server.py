"""The wallboard's web server: the page, its static files, `/api/state` and `/events` (SSE)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from ivr.wallboard.state import WallboardState

STATIC = Path(__file__).parent / "static"
# A page left open on a wall for days: a comment line now and then keeps proxies from closing it.
KEEPALIVE_S = 15.0
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    # The pages (and the desktop's buttons) are never shown inside another site's frame.
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
STATE_KEY = web.AppKey("state", WallboardState)


def make_app(state: WallboardState) -> web.Application:
    app = web.Application(middlewares=[_security_headers])
    app[STATE_KEY] = state
    app.router.add_get("/", _index)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/events", _events)
    app.router.add_static("/static/", STATIC, show_index=False)
    return app


@web.middleware
async def _security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    for key, value in _HEADERS.items():
        response.headers.setdefault(key, value)
    return response


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].as_dict())


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: the whole state at once, then again after every change (coalesced)."""
    state = request.app[STATE_KEY]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    seen = -1
    try:
        while True:
            if seen != state.version:
                seen = state.version
                body = json.dumps(state.as_dict(), ensure_ascii=False, separators=(",", ":"))
                await response.write(f"event: state\ndata: {body}\n\n".encode())
            elif not await state.wait_change(seen, KEEPALIVE_S):
                await response.write(b": keep-alive\n\n")
    except (ConnectionResetError, ConnectionError):
        pass
    return response


class Wallboard:
    """Runs the web app; `port` 0 picks a free port (`self.port` tells which after `start`). `extend` adds
    more to the app before it starts (the daemon mounts the agents' desktop, ivr.desktop.server)."""

    def __init__(self, state: WallboardState, host: str = "127.0.0.1", port: int = 8088,
                 extend: Callable[[web.Application], None] | None = None) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.extend = extend
        self._runner: web.AppRunner | None = None
        self._log = structlog.get_logger("ivr.wallboard")

    async def start(self) -> None:
        app = make_app(self.state)
        if self.extend is not None:
            self.extend(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:  # the wallboard is a convenience: calls go on without it
            await runner.cleanup()
            self._log.error("wallboard not started", address=f"{self.host}:{self.port}", error=str(exc))
            return
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._log.info("wallboard started", url=f"http://{self.host}:{self.port}/")

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
