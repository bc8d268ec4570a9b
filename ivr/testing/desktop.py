"""The web desktop in unit tests: the real desktop app (auth, store, hub, routes) on an aiohttp test
server, over a `FakeAmi` (ivr.testing.fake_ami) that keeps queue members the way Asterisk's app_queue
does and sends the AMI bridge the events Asterisk would (QueueMemberAdded/Removed/Pause), so the pages'
live feed runs the same path as in production. Users and passwords are set with the store's own functions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestClient, TestServer

from ivr.ami.errors import AmiOriginateFailed
from ivr.daemon import build_app
from ivr.desktop.calls import DesktopCalls
from ivr.desktop.context import DesktopContext
from ivr.desktop.server import install, make_context, state_feed
from ivr.desktop.store import WebStore, set_password
from ivr.events.sink import FanoutSink
from ivr.live.ami_bridge import AmiBridge
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.supervision.service import SpyService
from ivr.supervision.wiring import agent_interfaces
from ivr.testing.fake_ami import FakeAmi
from ivr.wallboard.server import make_app
from ivr.wallboard.state import WallboardState

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@dataclass
class DesktopHarness:
    client: TestClient[Any, Any]
    ctx: DesktopContext
    ami: FakeAmi
    bridge: AmiBridge
    db_url: str

    def set_password(self, user_id: str, password: str = PASSWORD) -> None:
        db = open_database(self.db_url)
        try:
            set_password(db, user_id, password, self.ctx.store.clock())
        finally:
            db.close()

    @asynccontextmanager
    async def browser(self) -> AsyncIterator[ClientSession]:
        """Another browser on the same server, with its own cookie jar."""
        async with ClientSession(base_url=self.client.make_url("/"), cookie_jar=CookieJar(unsafe=True)) as session:
            yield session

    async def sign_in(self, user_id: str, password: str = PASSWORD) -> str:
        """Signs the client in (its cookie jar keeps the session); returns the CSRF token."""
        answer = await self.client.post("/api/v1/session", json={"username": user_id, "password": password})
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["csrf"])


@asynccontextmanager
async def desktop(tmp_path: Path, *, keepalive_s: float = 15.0, **settings: Any) -> AsyncIterator[DesktopHarness]:
    db_url = f"sqlite:///{tmp_path / 'ivr.db'}"
    app = build_app(Settings(config_paths=[str(REPO)], state_dir=tmp_path, db_url=db_url, **settings))
    fanout = app.events
    assert isinstance(fanout, FanoutSink)
    bridge = AmiBridge(fanout, snapshot_every=0)
    ami = FakeAmi()
    # There are no phones here (the spy service never gets this far: nobody is in a call).
    ami.originate_error = AmiOriginateFailed("no phone in the test desktop")
    bridge.attach(ami)
    app.ami = ami
    ctx = make_context(app, lambda: bridge.view, store=WebStore(db_url, idle_s=app.settings.web_session_idle_s,
                                                                   max_s=app.settings.web_session_max_s))
    ctx.keepalive_s = keepalive_s
    holder = app.config
    ctx.calls = DesktopCalls(lambda: holder.current, ctx.hub, view=lambda: bridge.view)
    # Listening in: the daemon's wiring without the end-of-spy events (nothing sends them here).
    app.spy = SpyService(lambda: holder.current, lambda: ami,
                         lambda agent: agent_interfaces(app.config, app.settings, lambda: bridge.view, agent),
                         ctx.store.audit,
                         lambda _supervisor, agent, data: ctx.hub.to_supervisors(agent, "spy", data))
    fanout.add(state_feed(ctx))
    fanout.add(ctx.calls)
    web_app = make_app(WallboardState())  # the daemon's web app: the wallboard, with the desktop added
    install(web_app, ctx)
    await ctx.store.start()
    try:
        async with TestClient(TestServer(web_app)) as client:
            yield DesktopHarness(client, ctx, ami, bridge, db_url)
    finally:
        await ctx.store.stop()
