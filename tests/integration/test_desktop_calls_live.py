"""The desktop's call API against the real `ivr run` process and the real Asterisk of this run's sandbox
instance, through signed-in agent sessions (HTTP, cookie + CSRF header, as the pages use it):

- a caller keys a case number in the menu, the queue rings the agent, and `GET /api/v1/agent/call`
  shows the screen pop with path, language and case number; another agent sees nothing and cannot
  wrap the call up; the wrap-up code ends up in the call record, and submitting it ends the agent's
  wrap-up in Asterisk: a caller waiting behind is rung at once, not after the queue's wrapuptime;
- returning callers at each disclosure level show exactly the allowed fields (`none`: nothing);
- a transfer moves the caller to another group's queue (the next agent's pop keeps the case number)
  and on to an official's direct line; the first agent's own leg ends.

The citizens call over SIP (the `citizens` fixture: SIPp through the operator's trunk, keys as RFC 4733
events). Agents' phones are Local channels into [agent-sim] (IVR_AGENT_INTERFACE=Local/9{extension}@agent-sim/n):
each call sets how long the agent's phone rings and talks (`__AGENT_ANSWER_DELAY`, `__AGENT_TALK`), which
the wrap-up timing test needs per call; test_desktop_browser.py has real SIP desk phones. The officials'
earlier attempts (*810) are Local channels too: they only leave an open attempt in the registry. The
sandbox's static stand-in agents are paused so that only signed-in agents take calls.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from harness.ami import AmiClient
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import DaemonProcess
from harness.desk import log_everyone_out, set_password, stand_ins_paused, until_members

from ivr.records import store
from ivr.store.db import open_database
from ivr.testing.mosquitto import free_port

pytestmark = pytest.mark.real_daemon

SIM = "Local/9{extension}@agent-sim/n"
PASSWORD = "Kaffe och kanelbulle 42"
WEEKDAY_10 = "2026-12-22T10:00"
USERS = ("anna.andersson", "bilal.haddad", "david.lind")
# Swedish, then the main menu's 3 (building permits), then the case number while its prompt plays.
CASE_KEYS = "w1wwwwww3wwwwwwww12345#"
CITIZEN = "+46701239876"


class Agent:
    """One agent's signed-in session on the daemon's web server."""

    def __init__(self, base: str, user: str) -> None:
        self.base, self.user, self.csrf = base, user, ""
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def sign_in(self) -> None:
        async with self.http.post(f"{self.base}/api/v1/session",
                                  json={"username": self.user, "password": PASSWORD}) as answer:
            assert answer.status == 200, await answer.text()
            self.csrf = (await answer.json())["csrf"]

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(f"{self.base}{path}") as answer:
            return answer.status, (await answer.json() if answer.status != 204 else None)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        async with self.http.post(f"{self.base}{path}", json=body or {},
                                  headers={"X-CSRF-Token": self.csrf}) as answer:
            return answer.status, await answer.json()

    async def pop(self, check: Callable[[dict[str, Any]], bool], timeout: float = 30.0,
                  what: str = "") -> dict[str, Any]:
        """The agent's screen pop once `check` holds (polled: the API answers from live events)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: Any = None
        while loop.time() < deadline:
            status, last = await self.get("/api/v1/agent/call")
            if status == 200 and check(last):
                return dict(last)
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.user}: no screen pop {what} within {timeout} s; last: {last}")

    async def close(self) -> None:
        await self.http.close()


@dataclass
class Desk:
    daemon: DaemonProcess
    agents: dict[str, Agent]


@pytest.fixture
async def no_stand_ins(ami: AmiClient) -> AsyncIterator[None]:
    async with stand_ins_paused(ami):
        yield


@pytest.fixture
async def desk(ami: AmiClient, tmp_path: Path, no_stand_ins: None) -> AsyncIterator[Desk]:
    """`ivr run` with the web desktop on a free port; each agent signed in and logged in on a desk phone."""
    await log_everyone_out(ami)
    port = free_port()
    daemon = DaemonProcess(state_dir=tmp_path / "daemon",
                           env={"IVR_WALLBOARD_PORT": str(port), "IVR_AGENT_INTERFACE": SIM})
    daemon.state_dir.mkdir(parents=True)
    # The daemon's own clock (a transfer's "is the group open now") at the callers' test time, not at
    # whatever hour the suite runs.
    daemon.set_clock(f"{WEEKDAY_10}+01:00")
    for user in USERS:
        set_password(daemon, user, PASSWORD)
    await daemon.start()
    agents = {user: Agent(f"http://127.0.0.1:{port}", user) for user in USERS}
    try:
        for user, agent in agents.items():
            await agent.sign_in()
            status, body = await agent.post("/api/v1/agent/login", {"device": "desk"})
            assert status == 200, body
            await until_members(ami, user, bool, what="logged in")
        yield Desk(daemon, agents)
    finally:
        for agent in agents.values():
            await agent.close()
        await daemon.stop()
        await log_everyone_out(ami)


def record_of(daemon: DaemonProcess, uniqueid: str) -> dict[str, Any] | None:
    db = open_database(f"sqlite:///{daemon.state_dir / 'ivr.db'}")
    try:
        return next((row for row in store.fetch(db, 0, 2**40) if row["uniqueid"] == uniqueid), None)
    finally:
        db.close()


async def recorded(daemon: DaemonProcess, uniqueid: str, check: Callable[[dict[str, Any]], bool],
                   timeout: float = 15.0) -> dict[str, Any]:
    """The call's record in the daemon's database once `check` holds (the writer works in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        row = record_of(daemon, uniqueid)
        if row is not None and check(row):
            return row
        assert loop.time() < deadline, f"call record not as expected within {timeout} s: {row}"
        await asyncio.sleep(0.2)


async def caller(citizens: Citizens, keys: str, **variables: str) -> CitizenHandle:
    return await citizens.call(caller_id=CITIZEN, dtmf=keys, first_wait=1, hold=60,
                               variables={"IVR_TEST_NOW": WEEKDAY_10, **variables})


async def test_case_number_pop_private_to_the_agent_and_wrapup_code_recorded(desk: Desk, ami: AmiClient,
        citizens: Citizens) -> None:
    david, anna = desk.agents["david.lind"], desk.agents["anna.andersson"]
    first = await caller(citizens, CASE_KEYS, __AGENT_ANSWER_DELAY="2", __AGENT_TALK="3")
    ringing = await david.pop(ours(first.uniqueid), what="while ringing")
    assert ringing["state"] == "ringing"
    assert ringing["path"] == ["welcome", "choose_language", "opening_hours", "main_menu", "building_case",
                               "tag_building", "queue_building"]
    assert (ringing["language"], ringing["digits"], ringing["queue"], ringing["group"]) == (
        "sv", {"case_number": "12345"}, "kc-building", "building")
    assert ringing["tags"] == {"department": "city_planning", "service": "building_permits"}
    assert ringing["department_name"] == "Stadsbyggnadskontoret" and ringing["returning"] is None
    assert [c["code"] for c in ringing["wrapup"]["codes"]] == ["resolved", "forwarded", "callback_needed",
                                                               "information"]
    # Another agent sees nothing of it and cannot act on it.
    assert await anna.get("/api/v1/agent/call") == (204, None)
    status, refused = await anna.post(f"/api/v1/agent/calls/{first.uniqueid}/wrapup", {"code": "resolved"})
    assert (status, refused["error"]) == (404, "unknown_call")
    answered = await david.pop(lambda p: p["state"] == "answered", what="answered")
    assert answered["digits"] == {"case_number": "12345"} and answered["waited_s"] is not None
    await david.pop(lambda p: p["state"] == "wrapup", what="in wrap-up after the hang-up")
    assert CITIZEN[3:] not in json.dumps([ringing, answered])
    status, refused = await david.post(f"/api/v1/agent/calls/{first.uniqueid}/wrapup", {"code": "urgent_case"})
    assert (status, refused["error"]) == (422, "unknown_code")  # social's code, not building's
    status, done = await david.post(f"/api/v1/agent/calls/{first.uniqueid}/wrapup", {"code": "resolved"})
    assert status == 200, done
    assert await david.get("/api/v1/agent/call") == (204, None)
    row = await recorded(desk.daemon, first.uniqueid, lambda r: r["wrapup_code"] == "resolved")
    assert (row["outcome"], row["agent"], row["queue"]) == ("answered", "david.lind", "kc-building")
    # Still logged in, in both queues, unpaused, after the wrap-up's end (remove + add in Asterisk).
    rows = await until_members(ami, "david.lind", lambda r: set(r) == {"kc-building", "kc-streets"})
    assert all(row.Paused == "0" for row in rows.values())


async def test_wrapup_code_ends_the_30_s_wrapup_at_once(desk: Desk, ami: AmiClient,
        citizens: Citizens) -> None:
    """kc-social's wrapuptime is 30 s: a caller waiting behind is rung as soon as the code comes."""
    bilal = desk.agents["bilal.haddad"]
    social = "w1wwwwww2wwwwww1"
    first = await caller(citizens, social, __AGENT_ANSWER_DELAY="1", __AGENT_TALK="14")
    await first.wait_event(40, Event="AgentConnect", Queue="kc-social")
    second = await caller(citizens, social, __AGENT_ANSWER_DELAY="1", __AGENT_TALK="2")
    await second.wait_event(30, Event="QueueCallerJoin", Queue="kc-social")
    complete = await first.wait_event(30, Event="AgentComplete")
    completed_at = time.monotonic()
    pop = await bilal.pop(lambda p: p["uniqueid"] == first.uniqueid and p["state"] == "wrapup", what="wrap-up")
    assert pop["wrapup"]["required"] is True
    await asyncio.sleep(3)
    assert not second.first(lambda e: e.Event == "AgentCalled"), "rung during the wrap-up time"
    status, done = await bilal.post(f"/api/v1/agent/calls/{first.uniqueid}/wrapup", {"code": "urgent_case"})
    assert status == 200, done
    assert "kc-social" in done["wrapup_ended"]
    # app_queue tries again every `retry` (2 s), after any announcement the caller is hearing.
    called = await second.wait_event(10, Event="AgentCalled")
    waited = time.monotonic() - completed_at
    assert called.MemberName == "bilal.haddad"
    assert waited < 20, f"rung {waited:.1f} s after the call ended ({complete.Queue}): the 30 s wrap-up was not ended"
    await second.wait_event(10, Event="AgentConnect")
    row = await recorded(desk.daemon, first.uniqueid, lambda r: r["wrapup_code"] == "urgent_case")
    assert row["agent"] == "bilal.haddad"


def ours(uniqueid: str) -> Callable[[dict[str, Any]], bool]:
    return lambda pop: pop["uniqueid"] == uniqueid


async def missed_call(ami: AmiClient, official_extension: str, citizen: str) -> None:
    """The official calls back about a call-back request (*810: the main number is shown); busy."""
    call = await ami.originate_caller(exten=f"*810{citizen}", context="officials-outbound",
                                      caller_id=official_extension, dtmf="", first_wait=0, hold=10,
                                      variables={"__TRUNK_BUSY": "1"})
    await call.wait_event(20, Event="DialEnd", DialStatus="BUSY")


async def test_returning_callers_show_exactly_what_the_disclosure_allows(desk: Desk, ami: AmiClient,
        citizens: Citizens) -> None:
    # Education (person) → kc-school (Anna); city planning (department) → kc-building (David);
    # social services (none) → kc-social (Bilal). Each official: busy; the citizen calls back, takes the
    # offer (1), the official does not answer, and the citizen waits in the department's queue.
    cases = {"anna.andersson": ("2102", "+46701120011"), "david.lind": ("2103", "+46701120012"),
             "bilal.haddad": ("2101", "+46701120013")}
    await asyncio.gather(*[missed_call(ami, ext, citizen) for ext, citizen in cases.values()])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while sum(line.get("event") == "outbound call ended" for line in desk.daemon.log_lines()) < 3:
        assert loop.time() < deadline, "the dials' ends never reached the daemon"
        await asyncio.sleep(0.1)
    calls = await asyncio.gather(*[
        citizens.call(caller_id=citizen, dtmf="w1", first_wait=1, hold=60,
                      variables={"IVR_TEST_NOW": WEEKDAY_10, "__TRUNK_NOANSWER": "1",
                                 "IVR_TRANSFER_RING": "2", "__AGENT_ANSWER_DELAY": "30"})
        for _, citizen in cases.values()])
    pops: dict[str, dict[str, Any]] = {}
    for (agent, (_, citizen)), call in zip(cases.items(), calls, strict=True):
        pops[agent] = await desk.agents[agent].pop(ours(call.uniqueid), what="for the returning caller")
        assert citizen[3:] not in json.dumps(pops[agent])
    person = pops["anna.andersson"]["returning"]
    assert set(person) == {"department", "department_name", "attempted_at", "official", "purpose"}
    assert (person["department"], person["department_name"], person["official"], person["purpose"]) == (
        "education", "Förskola och skola", "Johan Ek", "Återuppringning")
    department = pops["david.lind"]["returning"]
    assert set(department) == {"department", "department_name", "attempted_at"}
    assert (department["department"], department["department_name"]) == ("city_planning", "Stadsbyggnadskontoret")
    nothing = pops["bilal.haddad"]
    assert nothing["returning"] is None and nothing["path"] == [] and nothing["tags"] == {}
    text = json.dumps(nothing, ensure_ascii=False)
    for trace in ("Sara", "Nilsson", "returning_caller", "Återuppringning", "2101", "attempt"):
        assert trace not in text, trace
    assert nothing["queue"] == "kc-social"


async def test_transfer_to_another_group_then_to_an_official(desk: Desk, ami: AmiClient,
        citizens: Citizens) -> None:
    david, anna = desk.agents["david.lind"], desk.agents["anna.andersson"]
    call = await caller(citizens, CASE_KEYS, __AGENT_ANSWER_DELAY="1", __AGENT_TALK="40")
    await david.pop(lambda p: p["uniqueid"] == call.uniqueid and p["state"] == "answered", what="answered")
    connect = await call.wait_event(10, Event="AgentConnect")
    status, moved = await david.post(f"/api/v1/agent/calls/{call.uniqueid}/transfer", {"group": "general"})
    assert status == 200, moved
    assert moved["to"] == {"group": "general", "queue": "kc-general"}
    # David's leg ends; the caller waits in kc-general in Swedish, and Anna's phone rings.
    await call.wait_event(10, Event="Hangup", Channel=connect.DestChannel)
    joined = await call.wait_event(10, Event="QueueCallerJoin", Queue="kc-general")
    assert joined.Language == "sv"
    transferred = await anna.pop(lambda p: p["uniqueid"] == call.uniqueid and p["state"] == "answered",
                                 what="the transferred call answered")
    assert (transferred["digits"], transferred["group"]) == ({"case_number": "12345"}, "general")
    wrapup = await david.pop(lambda p: p["state"] == "wrapup", what="David in wrap-up")
    assert wrapup["group"] == "building"
    status, done = await david.post(f"/api/v1/agent/calls/{call.uniqueid}/wrapup", {"code": "forwarded"})
    assert status == 200 and set(done["wrapup_ended"]) == {"kc-building", "kc-streets"}, done
    # Anna passes the caller on to Lina Holm's direct line (city planning).
    status, moved = await anna.post(f"/api/v1/agent/calls/{call.uniqueid}/transfer", {"official": "lina.holm"})
    assert (status, moved["to"]) == (200, {"official": "lina.holm"})
    trunk = await call.wait_event(15, Event="UserEvent", UserEvent="TrunkCall")
    assert trunk.Number == "+4640342103"
    status, refused = await david.post(f"/api/v1/agent/calls/{call.uniqueid}/transfer", {"group": "social"})
    assert (status, refused["error"]) == (404, "unknown_call")
