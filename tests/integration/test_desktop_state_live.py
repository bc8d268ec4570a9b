"""The desktop's agent state against the real `ivr run` process and the real Asterisk (this run's
sandbox instance): over HTTP an agent signs in, logs in, pauses with a reason, unpauses and logs out;
after each step Asterisk's queue members (AMI QueueStatus) are as asked, and the page's event stream
(SSE /api/v1/events) shows the change, coming from Asterisk's own events through the AMI bridge.
A *472 dialled on the agent's desk phone (the feature-code path) reaches the same stream, and a
supervisor's forced pause shows on both the agent's and the supervisor's streams and in the audit.

The phone dialling *472 is a SIPp phone registered as 1006 with digest auth (harness/sipp.py). The queue
interfaces of the logins from the page are Local channels into [agent-sim] (IVR_AGENT_INTERFACE): no call
rings them here, and test_desktop_browser.py logs in real SIP desk phones.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from harness.ami import AmiClient
from harness.daemon import DaemonProcess
from harness.desk import log_everyone_out, set_password, until_members
from harness.sipp import agent_phone

from ivr.desktop.store import read_audit
from ivr.store.db import open_database
from ivr.testing.mosquitto import free_port

pytestmark = pytest.mark.real_daemon

SIM = "Local/9{extension}@agent-sim/n"
PASSWORD = "Fika klockan tre, 2026"
# From the request (or from Asterisk's change) to the page's event: within a second, as the issue asks
# (measured here: 5–120 ms).
LIVE_S = 1.0


@dataclass
class Web:
    daemon: DaemonProcess
    base: str


class Browser:
    """One signed-in browser: a cookie jar, the CSRF token and the open event stream."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.stream: aiohttp.ClientResponse | None = None

    async def sign_in(self, user: str) -> None:
        async with self.session.post(f"{self.base}/api/v1/session",
                                     json={"username": user, "password": PASSWORD}) as answer:
            assert answer.status == 200, await answer.text()
            self.csrf = (await answer.json())["csrf"]
        self.stream = await self.session.get(f"{self.base}/api/v1/events", timeout=aiohttp.ClientTimeout(total=None))
        assert self.stream.status == 200

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.session.post(f"{self.base}/api/v1{path}", json=body or {},
                                     headers={"X-CSRF-Token": self.csrf}) as answer:
            assert answer.status == 200, f"{path}: {answer.status} {await answer.text()}"
            return dict(await answer.json())

    async def get(self, path: str) -> Any:
        async with self.session.get(f"{self.base}/api/v1{path}") as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()

    async def state_event(self, agent: str, check: Any, timeout: float = LIVE_S, what: str = "") -> dict[str, Any]:
        """The first `state` event for `agent` that passes `check` (earlier ones are skipped)."""
        assert self.stream is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        kind, seen = "", []
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no state event for {agent} within {timeout} s ({what}); saw {seen}")
            try:
                line = (await asyncio.wait_for(self.stream.content.readline(), left)).decode().rstrip("\n")
            except TimeoutError:
                continue
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "state":
                data = json.loads(line.removeprefix("data: "))
                seen.append(data)
                if data["agent"] == agent and check(data):
                    return dict(data)

    async def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
        await self.session.close()


@pytest.fixture
async def web(ami: AmiClient, tmp_path: Path) -> AsyncIterator[Web]:
    await log_everyone_out(ami)
    port = free_port()
    daemon = DaemonProcess(state_dir=tmp_path / "daemon",
                           env={"IVR_WALLBOARD_PORT": str(port), "IVR_AGENT_INTERFACE": SIM})
    daemon.state_dir.mkdir(parents=True)
    for user in ("anna.andersson", "farah.ali", "lena.strand"):
        set_password(daemon, user, PASSWORD)
    await daemon.start()
    try:
        yield Web(daemon, f"http://127.0.0.1:{port}")
    finally:
        await daemon.stop()
        await log_everyone_out(ami)


@pytest.fixture
async def browsers(web: Web) -> AsyncIterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for browser in opened:
        await browser.close()


async def test_sign_in_log_in_pause_unpause_log_out(ami: AmiClient, web: Web, browsers: list[Browser]) -> None:
    anna = Browser(web.base)
    browsers.append(anna)
    await anna.sign_in("anna.andersson")
    first = await anna.state_event("anna.andersson", lambda s: True, what="the first state")
    assert first["state"] == "logged_out" and first["queues"] == []

    queues = ["kc-general", "kc-school", "kc-school-ar"]
    started = time.monotonic()
    done = await anna.post("/agent/login", {"device": "desk"})
    assert sorted(done["queues"]) == queues
    live = await anna.state_event("anna.andersson", lambda s: s["state"] == "available" and s["queues"] == queues,
                                  what="logged in")
    delays = {"login": time.monotonic() - started}
    assert live["device"] == "desk"
    rows = await until_members(ami, "anna.andersson", lambda r: sorted(r) == queues, what="logged in")
    assert {str(r.Location) for r in rows.values()} == {"Local/91001@agent-sim/n"}
    assert {r.Paused for r in rows.values()} == {"0"}

    reasons = {r["reason"] for r in await anna.get("/pause-reasons")}
    assert reasons == {"lunch", "meeting", "admin", "training"}
    started = time.monotonic()
    await anna.post("/agent/pause", {"reason": "lunch"})
    await anna.state_event("anna.andersson", lambda s: s["state"] == "paused" and s["reason"] == "lunch",
                           what="paused")
    delays["pause"] = time.monotonic() - started
    rows = await until_members(ami, "anna.andersson", lambda r: {(m.Paused, m.PausedReason) for m in r.values()}
                               == {("1", "lunch")}, what="paused for lunch")
    assert sorted(rows) == queues
    assert (await anna.get("/agent/state"))["reason"] == "lunch"

    started = time.monotonic()
    await anna.post("/agent/unpause")
    await anna.state_event("anna.andersson", lambda s: s["state"] == "available", what="unpaused")
    delays["unpause"] = time.monotonic() - started
    await until_members(ami, "anna.andersson", lambda r: r and {m.Paused for m in r.values()} == {"0"},
                        what="unpaused")

    started = time.monotonic()
    await anna.post("/agent/logout")
    await anna.state_event("anna.andersson", lambda s: s["state"] == "logged_out", what="logged out")
    delays["logout"] = time.monotonic() - started
    await until_members(ami, "anna.andersson", lambda r: r == {}, what="logged out")
    # Request to the page's event, each step (printed for the record).
    print("request → page event, s:", {step: round(d, 3) for step, d in delays.items()})
    assert max(delays.values()) < LIVE_S


async def test_a_pause_from_the_phone_reaches_the_page(ami: AmiClient, web: Web, browsers: list[Browser],
                                                       phone_passwords: dict[str, str], tmp_path: Path) -> None:
    farah, lena = Browser(web.base), Browser(web.base)
    browsers += [farah, lena]
    await farah.sign_in("farah.ali")
    await lena.sign_in("lena.strand")  # supervises school and social, farah.ali's groups
    await farah.post("/agent/login", {"device": "desk"})
    await farah.state_event("farah.ali", lambda s: s["state"] == "available", what="logged in")

    # *47 + 2 (meeting) from farah.ali's own phone: the feature code's path, not the page's.
    async with agent_phone("1006", phone_passwords["1006"], workdir=tmp_path / "phone") as phone:
        since = ami.recorder.mark()
        await phone.dial("*472")
        said = await ami.recorder.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_AGENT_RESULT"
                                           and bool(e.Value), 10, since=since, what="the daemon's answer")
        assert said.Value == "ok"
    await until_members(ami, "farah.ali", lambda r: r and {(m.Paused, m.PausedReason) for m in r.values()}
                        == {("1", "meeting")}, what="paused from the phone")
    for page in (farah, lena):
        state = await page.state_event("farah.ali", lambda s: s["state"] == "paused", what="*472 on the page")
        assert state["reason"] == "meeting"

    # The supervisor ends the pause... by forcing another one, then logs farah.ali out: audited.
    await lena.post("/supervisor/agents/farah.ali/pause", {"reason": "training"})
    await until_members(ami, "farah.ali", lambda r: r and {m.PausedReason for m in r.values()} == {"training"},
                        what="forced pause")
    await farah.state_event("farah.ali", lambda s: s["reason"] == "training", what="forced pause on the agent's page")
    await lena.post("/supervisor/agents/farah.ali/logout")
    await until_members(ami, "farah.ali", lambda r: r == {}, what="forced logout")
    await farah.state_event("farah.ali", lambda s: s["state"] == "logged_out", what="forced logout")
    listing = await lena.get("/supervisor/agents")
    assert {a["agent"]: a["state"] for a in listing["agents"]}["farah.ali"] == "logged_out"
    db = open_database(f"sqlite:///{web.daemon.state_dir / 'ivr.db'}")
    try:
        actions = [(a, t) for _, actor, a, t, _ in read_audit(db) if actor == "lena.strand" and a.startswith("force")]
    finally:
        db.close()
    assert actions == [("force_pause", "farah.ali"), ("force_logout", "farah.ali")]
