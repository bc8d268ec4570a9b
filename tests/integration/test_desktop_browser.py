"""The agents' desktop in a real headless Chromium (Debian's) against the real `ivr run` and the real
Asterisk of this run's sandbox instance.

- An agent signs in, logs in to the queues, pauses with a reason and unpauses, from the keyboard alone,
  and Asterisk's queue members follow (AMI QueueStatus).
- A caller keys in a case number and reaches the queue: the agent's page shows the screen pop with the
  menu path, the language and the case number; the wrap-up code chosen on the page is in the call record.
- The agent transfers an answered call to another group's queue from the page (keyboard), and the
  caller joins that queue in Asterisk.
- Returning callers at each disclosure level: the page shows exactly the allowed fields (`none`: none).
  The supervisor's page shows them in calls, a paused agent with the reason and a waiting caller, logs
  an agent out from the keyboard, and listens in (ChanSpy starts; social services' call is refused).
- axe-core finds no WCAG 2.1 A/AA violation on the sign-in page, the agent page with a screen pop and the
  supervisor page.

Everyone on the line is SIP: the agents' and the supervisor's desk phones are SIPp phones that REGISTER
with digest auth (harness/sipp.py `agent_phone`) and answer what Asterisk sends them, and the citizens are
SIPp callers through the operator's trunk pressing keys as RFC 4733 events (the `citizens` fixture). Only
the officials' earlier attempts to reach the citizens (*810 from [officials-outbound]) are Local channels:
they have to leave an open attempt in the registry, nothing more (as in test_returning_caller_live.py).
The sandbox's static stand-in agents are paused so that the agents who log in on the pages take the calls.

IVR_DESK_SCREENSHOTS=1 writes the screenshots to docs/img/desktop-agent.png and desktop-supervisor.png
(the README's); otherwise they go to the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.ami import AmiClient
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import REPO, DaemonProcess
from harness.desk import Page, log_everyone_out, set_password, stand_ins_paused, until_members
from harness.sipp import AgentPhone, agent_phone

from ivr.records import store
from ivr.store.db import open_database
from ivr.testing.mosquitto import free_port
from ivr.wallboard.browser import chromium

pytestmark = pytest.mark.real_daemon

PASSWORD = "Kaffe och kanelbulle 42"
WEEKDAY_10 = "2026-12-22T10:00"
USERS = ("anna.andersson", "bilal.haddad", "cecilia.berg", "david.lind", "lena.strand")
PHONES = {"anna.andersson": "1001", "bilal.haddad": "1002", "cecilia.berg": "1003", "david.lind": "1004",
          "lena.strand": "1901"}  # agents/agents.yaml
GENERAL_KEYS = "w1wwwwww5"  # Swedish, then "other questions": kc-general
# Swedish, building permits, then case number 45678# while its prompt plays.
CASE_KEYS = "w1wwwwww3wwwwwwww45678#"
CASE_CITIZEN = "+46701114403"
SCREENSHOTS = os.environ.get("IVR_DESK_SCREENSHOTS") == "1"


@dataclass
class Desk:
    daemon: DaemonProcess
    base: str


@pytest.fixture
async def no_stand_ins(ami: AmiClient) -> AsyncIterator[None]:
    async with stand_ins_paused(ami):
        yield


@contextlib.asynccontextmanager
async def phones(passwords: dict[str, str], workdir: Path, *users: str, answer_after: float = 2.0,
                 talk: float = 100.0) -> AsyncIterator[dict[str, AgentPhone]]:
    """The users' desk phones registered (SIPp, digest auth); each answers after `answer_after` s and
    hangs up after `talk` s unless Asterisk did first."""
    async with contextlib.AsyncExitStack() as stack:
        yield {user: await stack.enter_async_context(
            agent_phone(PHONES[user], passwords[PHONES[user]], answer_after=answer_after, talk=talk, stay=600,
                        workdir=workdir / f"phone-{PHONES[user]}")) for user in users}


@pytest.fixture
async def desk(ami: AmiClient, tmp_path: Path) -> AsyncIterator[Desk]:
    """`ivr run` with the web desktop on a free port, and a web password for each test user."""
    await log_everyone_out(ami)
    port = free_port()
    # The shipped interfaces: desk phones are PJSIP/<extension>.
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", env={"IVR_WALLBOARD_PORT": str(port)})
    daemon.state_dir.mkdir(parents=True)
    daemon.set_clock(f"{WEEKDAY_10}+01:00")  # a transfer asks "is the group open now": not the suite's hour
    for user in USERS:
        set_password(daemon, user, PASSWORD)
    await daemon.start()
    try:
        yield Desk(daemon, f"http://127.0.0.1:{port}")
    finally:
        await daemon.stop()
        await log_everyone_out(ami)


@pytest.fixture
async def page(desk: Desk) -> AsyncIterator[Page]:
    async with chromium() as tools:
        yield Page(tools, desk.base)


async def sign_in(page: Page, user: str, home: str = "/desk/") -> None:
    await page.goto("/desk/login")
    await page.ready("/desk/login")
    await page.sign_in_with_keyboard(user, PASSWORD)
    await page.ready(home)


async def sign_out(page: Page) -> None:
    await page.js("document.getElementById('signout').click()")
    await page.ready("/desk/login")


async def log_in_to_queues(page: Page, ami: AmiClient, agent: str) -> None:
    await page.js("document.getElementById('login').click()")
    await page.until("document.getElementById('state').dataset.state === 'available'", what="available")
    await until_members(ami, agent, bool, what="logged in")


def wcag_clean(violations: list[dict[str, object]]) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=1)


def shot_path(tmp_path: Path, name: str) -> Path:
    return REPO / "docs" / "img" / name if SCREENSHOTS else tmp_path / name


async def pop_fields(page: Page, selector: str) -> dict[str, str]:
    """data-field -> text of the screen pop's facts under `selector`."""
    where = json.dumps(f"{selector} [data-field]")
    found = await page.js(
        f"Object.fromEntries([...document.querySelectorAll({where})].map(e => [e.dataset.field, e.textContent]))")
    return {str(k): str(v) for k, v in dict(found).items()}


async def test_agent_signs_in_and_controls_state_from_the_keyboard(
        desk: Desk, page: Page, ami: AmiClient, phone_passwords: dict[str, str], tmp_path: Path) -> None:
    async with phones(phone_passwords, tmp_path, "anna.andersson"):
        await sign_in_and_control_state(page, ami)


async def sign_in_and_control_state(page: Page, ami: AmiClient) -> None:
    await page.goto("/desk/login")
    await page.ready("/desk/login")
    assert await page.js("document.documentElement.lang") == "sv"
    assert await page.axe() == [], "sign-in page"
    # A wrong password: told so in the alert region, the password field emptied and focused for another try.
    await page.sign_in_with_keyboard("anna.andersson", "not the password at all")
    await page.until("document.getElementById('login-error').textContent === 'Fel användarnamn eller lösenord.'",
                     10, "the wrong password reported")
    assert await page.focused() == "password"
    assert await page.js("document.getElementById('password').value") == ""
    await page.goto("/desk/login")
    await page.ready("/desk/login")
    await page.sign_in_with_keyboard("anna.andersson", PASSWORD)
    await page.ready("/desk/")
    assert await page.text("#state") == "Utloggad"
    assert await page.text("#who") == "Inloggad som Anna Andersson"

    # Log in to the queues with the desk phone: Tab goes through the device choice to the button.
    passed = await page.tab_to("login")
    assert "input[name=device][value=desk]" in passed, passed
    assert await page.focus_visible()
    await page.key("Enter")
    await page.until("document.getElementById('state').dataset.state === 'available'", what="available on the page")
    joined = await until_members(ami, "anna.andersson", lambda rows: {"kc-general", "kc-school"} <= set(rows),
                                 what="in the general and school queues")
    assert all(row.Location == "PJSIP/1001" and row.Paused == "0" for row in joined.values())
    assert set((await page.text("#queues") or "").split(", ")) == set(joined)

    # The logged-in agent's next step has the focus: the pause reason. Arrow down to "meeting", Tab, Enter.
    assert await page.focused() == "pause-reason"
    await page.key("ArrowDown")
    assert await page.js("document.getElementById('pause-reason').value") == "meeting"
    await page.key("Tab")
    assert await page.focused() == "pause"
    assert await page.focus_visible()
    await page.key("Enter")
    await page.until("document.getElementById('state').dataset.state === 'paused'", what="paused on the page")
    assert await page.text("#state") == "Paus"
    paused = await until_members(ami, "anna.andersson",
                                 lambda rows: rows and all(r.Paused == "1" for r in rows.values()), what="paused")
    assert {row.PausedReason for row in paused.values()} == {"meeting"}
    reason = await page.text("#reason")
    assert reason not in (None, "", "–")  # the reason's label

    # Unpause: the focus is on "Avsluta paus" now.
    assert await page.focused() == "unpause"
    await page.key("Space")
    await page.until("document.getElementById('state').dataset.state === 'available'", what="available again")
    await until_members(ami, "anna.andersson", lambda rows: rows and all(r.Paused == "0" for r in rows.values()),
                        what="unpaused")

    # Log out of the queues, still from the keyboard.
    await page.tab_to("logout")
    await page.key("Enter")
    await page.until("document.getElementById('state').dataset.state === 'logged_out'", what="logged out")
    await until_members(ami, "anna.andersson", lambda rows: not rows, what="in no queue")

    # English, remembered across a reload.
    assert await page.focused() == "login"
    await page.tab_to("lang", back=True)
    await page.key("Enter")
    assert await page.js("document.documentElement.lang") == "en"
    assert await page.text("#state") == "Logged out"
    await page.goto("/desk/")
    await page.ready("/desk/")
    assert await page.js("document.documentElement.lang") == "en"
    assert await page.text("#login") == "Log in to the queues"
    assert await page.axe() == [], "agent page in English"


async def test_screen_pop_with_case_number_and_wrapup_in_the_record(
        desk: Desk, page: Page, ami: AmiClient, no_stand_ins: None, tmp_path: Path,
        citizens: Citizens, phone_passwords: dict[str, str]) -> None:
    """David's desk phone rings 2 s and talks 14 s; the citizen keys a case number in the menu."""
    async with case_call_for_david(page, ami, citizens, phone_passwords, tmp_path, talk=14) as call:
        await screen_pop_and_wrapup(desk, page, call, tmp_path)


@contextlib.asynccontextmanager
async def case_call_for_david(page: Page, ami: AmiClient, citizens: Citizens, passwords: dict[str, str],
                              workdir: Path, *, talk: float) -> AsyncIterator[CitizenHandle]:
    """David's desk phone registered (rings 2 s, talks `talk` s), David signed in and in his queues, and a
    citizen who keyed a case number waiting in kc-building."""
    async with phones(passwords, workdir, "david.lind", talk=talk):
        await sign_in(page, "david.lind")
        await log_in_to_queues(page, ami, "david.lind")
        call = await citizens.call(caller_id=CASE_CITIZEN, dtmf=CASE_KEYS, first_wait=1, hold=90,
                                   variables={"IVR_TEST_NOW": WEEKDAY_10})
        await call.wait_event(90, Event="QueueCallerJoin", Queue="kc-building")
        yield call


async def screen_pop_and_wrapup(desk: Desk, page: Page, call: CitizenHandle, tmp_path: Path) -> None:
    await page.until("!!document.querySelector('#pop [data-field=\"digit-case_number\"]')", 30, "the screen pop")
    await page.until("document.querySelector('#pop [data-field=\"state\"]').textContent === 'Pågår'", 20,
                     "the call answered on the page")
    facts = await pop_fields(page, "#pop")
    assert facts["digit-case_number"] == "45678"
    assert facts["language"] == "Svenska"
    assert facts["queue"] == "kc-building"
    path = json.loads(await page.js("JSON.stringify([...document.querySelectorAll('#pop ol.path li')]"
                                    ".map(li => li.textContent))"))
    assert path[:2] == ["welcome", "choose_language"] and path[-3:] == ["building_case", "tag_building",
                                                                        "queue_building"], path
    assert facts["department"] == "Stadsbyggnadskontoret" and facts["tag-service"] == "building_permits"
    assert await page.js("document.getElementById('returning') === null")
    # Screen readers hear it: the assertive live region has the group, the language and the case number.
    assert await page.text("#announce-call") == "Samtal: Building permits and environment, Svenska, ärendenummer 45678"
    body = str(await page.js("document.documentElement.outerHTML + document.body.innerText"))
    assert CASE_CITIZEN[3:] not in body  # never the caller's number
    assert await page.axe() == [], "agent page with a screen pop"
    shot = await page.screenshot(shot_path(tmp_path, "desktop-agent.png"))
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"

    # The agent hangs up; the wrap-up form: pick a code with the keyboard and submit it.
    await page.until("!document.getElementById('wrapup').hidden && ['Avslutat', 'Efterarbete'].includes("
                     "document.querySelector('#pop [data-field=\"state\"]')?.textContent)", 40,
                     "the call ended, wrap-up offered")
    await page.tab_to("wrapup-code")
    await page.key("ArrowDown")
    code = str(await page.js("document.getElementById('wrapup-code').value"))
    assert code
    await page.key("Tab")
    assert await page.focused() == "wrapup-submit"
    await page.key("Enter")
    await page.until(f"document.getElementById('call').dataset.wrapup === {json.dumps(code)}", 10, "wrap-up saved")

    db = open_database(f"sqlite:///{desk.daemon.state_dir / 'ivr.db'}")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while True:
            record = {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}.get(call.uniqueid)
            if record is not None and record.get("wrapup_code"):
                break
            assert loop.time() < deadline, f"no wrap-up code in the record: {record}"
            await asyncio.sleep(0.3)
    finally:
        db.close()
    assert record["wrapup_code"] == code
    assert record["queue"] == "kc-building" and record["outcome"] == "answered"


async def test_transfer_to_another_groups_queue_from_the_keyboard(
        desk: Desk, page: Page, ami: AmiClient, no_stand_ins: None, tmp_path: Path,
        citizens: Citizens, phone_passwords: dict[str, str]) -> None:
    """David (building, streets) answers a building caller and sends them on to the streets queue."""
    async with case_call_for_david(page, ami, citizens, phone_passwords, tmp_path, talk=60) as call:
        await transfer_to_streets(page, ami, call)


async def transfer_to_streets(page: Page, ami: AmiClient, call: CitizenHandle) -> None:
    mark = ami.recorder.mark()
    await ami.recorder.wait_for(lambda e: e.matches({"Event": "AgentConnect", "Channel": call.channel,
                                                     "MemberName": "david.lind"}), 30, what="David answering")
    await page.until("document.querySelector('#pop [data-field=\"state\"]')?.textContent === 'Pågår'", 20,
                     "the call answered on the page")
    options = await page.js("[...document.querySelectorAll('#transfer-group option')].map(o => o.value)")
    assert options == ["general", "school", "social", "streets"]  # every group but the call's own (building)
    await page.tab_to("transfer-group")
    for _ in options:  # the arrow keys walk the closed list
        if await page.js("document.getElementById('transfer-group').value") == "streets":
            break
        await page.key("ArrowDown")
    assert await page.js("document.getElementById('transfer-group').value") == "streets"
    await page.tab_to("transfer-submit")
    await page.key("Enter")
    await ami.recorder.wait_for(lambda e: e.matches({"Event": "QueueCallerJoin", "Queue": "kc-streets",
                                                     "Channel": call.channel}), 30, since=mark,
                                what="the caller in kc-streets")
    await page.until("document.getElementById('transfer-status').textContent === 'Samtalet är kopplat vidare.'",
                     10, "the transfer confirmed on the page")


async def missed_call(ami: AmiClient, official_extension: str, citizen: str) -> None:
    """An official calls the citizen back about a call-back request (*810); the line is busy."""
    call = await ami.originate_caller(exten=f"*810{citizen}", context="officials-outbound",
                                      caller_id=official_extension, dtmf="", first_wait=0, hold=10,
                                      variables={"__TRUNK_BUSY": "1"})
    await call.wait_event(20, Event="DialEnd", DialStatus="BUSY")


async def returning_call(citizens: Citizens, citizen: str) -> CitizenHandle:
    """The citizen calls the main number, takes the offer (1); the official does not answer: the queue."""
    return await citizens.call(caller_id=citizen, dtmf="w1", first_wait=1, hold=120,
                               variables={"IVR_TEST_NOW": WEEKDAY_10, "__TRUNK_NOANSWER": "1",
                                          "IVR_TRANSFER_RING": "2"})


# disclosure level -> (official's extension, citizen, agent, queue, the returning-caller fields shown)
RETURNING = {
    "person": ("2102", "+46701120101", "anna.andersson", "kc-school",
               {"returning-department", "returning-attempted_at", "returning-official", "returning-purpose"}),
    "department": ("2103", "+46701120102", "david.lind", "kc-building",
                   {"returning-department", "returning-attempted_at"}),
    "none": ("2101", "+46701120103", "bilal.haddad", "kc-social", set()),
}


async def test_returning_callers_show_what_the_disclosure_allows_and_the_supervisor_sees_them(
        desk: Desk, page: Page, ami: AmiClient, no_stand_ins: None, tmp_path: Path,
        citizens: Citizens, phone_passwords: dict[str, str]) -> None:
    """Anna, David and Bilal talk long on their desk phones; Lena's desk phone answers when she listens in."""
    async with phones(phone_passwords, tmp_path, "anna.andersson", "bilal.haddad", "cecilia.berg", "david.lind",
                      "lena.strand", answer_after=1):
        await returning_callers_and_the_supervisor(page, ami, citizens, tmp_path)


async def returning_callers_and_the_supervisor(page: Page, ami: AmiClient, citizens: Citizens,
                                               tmp_path: Path) -> None:
    for _, _, agent, _, _ in RETURNING.values():
        await sign_in(page, agent)
        await log_in_to_queues(page, ami, agent)
        await sign_out(page)
    await asyncio.gather(*[missed_call(ami, ext, citizen) for ext, citizen, *_ in RETURNING.values()])
    calls = await asyncio.gather(*[returning_call(citizens, citizen) for _, citizen, *_ in RETURNING.values()])
    for call, (_, _, agent, queue, _) in zip(calls, RETURNING.values(), strict=True):
        await call.wait_event(60, Event="QueueCallerJoin", Queue=queue)
        await call.wait_event(30, Event="AgentConnect", MemberName=agent)

    for (level, (_, citizen, agent, queue, shown)), call in zip(RETURNING.items(), calls, strict=True):
        await sign_in(page, agent)
        await page.until(f"document.getElementById('call').dataset.uniqueid === {json.dumps(call.uniqueid)}",
                         20, f"{level}: the screen pop")
        facts = await pop_fields(page, "#returning")
        assert set(facts) == shown, (level, facts)
        pop = await page.js("fetch('/api/v1/agent/call').then(r => r.json())")
        if level == "none":
            assert pop["returning"] is None
            assert await page.js("document.getElementById('returning') === null")
        assert (await pop_fields(page, "#pop"))["queue"] == queue
        body = str(await page.js("document.documentElement.outerHTML"))
        assert citizen[3:] not in body
        # What the page says about this call: the pop and what was announced. (The transfer form lists
        # every official by name, whoever tried to reach this caller.)
        said = str(await page.js("document.getElementById('call').outerHTML + "
                                 "document.getElementById('announce').outerHTML"))
        if level == "person":
            assert facts["returning-official"] == "Johan Ek"
            assert facts["returning-purpose"] == "Återuppringning"
            assert facts["returning-department"] == "Förskola och skola"
            assert await page.axe() == [], "agent page with a returning caller's screen pop"
        if level == "department":
            assert facts["returning-department"] == "Stadsbyggnadskontoret"
            assert "Lina Holm" not in said
        if level == "none":
            assert "Sara Nilsson" not in said
        await sign_out(page)

    # Cecilia is at lunch; a caller waits in kc-general (its agents are all busy or paused).
    await sign_in(page, "cecilia.berg")
    await log_in_to_queues(page, ami, "cecilia.berg")
    await page.js("document.getElementById('pause').click()")  # the first reason: lunch
    await until_members(ami, "cecilia.berg", lambda rows: rows and all(r.Paused == "1" for r in rows.values()),
                        what="cecilia paused")
    await sign_out(page)
    waiting = await citizens.call(dtmf=GENERAL_KEYS, first_wait=1, hold=120, caller_id="+46701120104",
                                  variables={"IVR_TEST_NOW": WEEKDAY_10})
    await waiting.wait_event(60, Event="QueueCallerJoin", Queue="kc-general")

    # The supervisor of general, social and school: anna and bilal in calls, cecilia paused, one waiting.
    await sign_in(page, "lena.strand", "/desk/supervisor")
    row = "document.querySelector('tr[data-agent=\"%s\"] [data-field=\"%s\"]')"
    await page.until(f"{row % ('anna.andersson', 'state')}?.dataset.state === 'busy'", 20, "anna busy")
    await page.until(f"{row % ('cecilia.berg', 'state')}?.dataset.state === 'paused'", 20, "cecilia paused")
    assert await page.js(f"{row % ('cecilia.berg', 'reason')}.textContent") == "Lunch"
    await page.until("document.querySelector('tr[data-queue=\"kc-general\"] [data-field=\"waiting\"]')"
                     "?.textContent === '1'", 20, "the caller waiting in kc-general")
    rows = await page.js("[...document.querySelectorAll('#agent-rows tr')].map(r => r.dataset.agent)")
    assert "david.lind" not in rows  # building and streets are not lena's groups
    assert {"anna.andersson", "bilal.haddad", "cecilia.berg"} <= set(rows)
    assert await page.axe() == [], "supervisor page"
    await page.screenshot(shot_path(tmp_path, "desktop-supervisor.png"))

    # Lena logs Cecilia out from the keyboard; Asterisk follows, and so does the page. The focus stays
    # in Cecilia's row (on her name) when the button goes grey, though the rows update every second.
    await page.tab_until('tr[data-agent="cecilia.berg"] button[data-action="logout"]')
    assert await page.js("document.activeElement.getAttribute('aria-label')") == "Logga ut Cecilia Berg ur köerna"
    assert await page.focus_visible()
    await page.key("Enter")
    await until_members(ami, "cecilia.berg", lambda rows: not rows, what="cecilia logged out by the supervisor")
    await page.until(f"{row % ('cecilia.berg', 'state')}?.dataset.state === 'logged_out'", 20, "cecilia out")
    assert await page.js("document.activeElement.closest('tr')?.dataset.agent") == "cecilia.berg"

    # Listening in from the page: on Anna's call (education) Lena's phone rings and joins; on Bilal's
    # (social services forbid listening) the page says no, and nothing rings.
    mark = ami.recorder.mark()
    await page.js("document.querySelector('tr[data-agent=\"anna.andersson\"] button[data-mode=\"listen\"]').click()")
    await page.until("document.getElementById('spy-status').textContent === "
                     "'Lyssna – Anna Andersson: du är inkopplad.'", 30, "listening to Anna")
    spy = await ami.recorder.wait_for(lambda e: e.Event == "ChanSpyStart", 10, since=mark, what="ChanSpyStart")
    assert str(spy.SpyeeChannel).startswith("PJSIP/1001-")  # Anna's desk phone
    await page.js("document.querySelector('tr[data-agent=\"bilal.haddad\"] button[data-mode=\"listen\"]').click()")
    refused = await page.until("document.getElementById('error').textContent", 10, "the refusal on the page")
    assert str(refused).startswith("Det gick inte: Socialtjänsten"), refused
    assert len(ami.recorder.find(lambda e: e.Event == "ChanSpyStart", mark)) == 1
    assert await page.errors() == []
    await ami.action("Hangup", Channel="/^PJSIP\\/1901-/", check=False)  # Lena's phone; the citizens: the fixture
