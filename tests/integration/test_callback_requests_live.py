"""Callback requests left outside opening hours, on the real Asterisk with the real daemon (`ivr run`).

Four citizens call over SIP on a Tuesday evening (the test clock in X-IVR-Test-Now) and press 1 to
be called back: the first confirms their caller ID, the second is withheld and must key a number,
the third keys another number than their caller ID, and the fourth is refused politely because the
group's limit for that day (3 in this test's copy of agents/groups.yaml) is reached. Nothing is
placed before the opening. Then the daemon's scheduler clock is moved to Wednesday 07:00:01 (the
test-only <state dir>/test-clock, read only with --allow-test-clock): the three stand-ins join
kc-general in the order the requests were left, the agents answer them, and each citizen is called
through the operator's trunk (a SIPp UAS) with the city's main number in From and P-Asserted-Identity.
Every callback ends `done` with its sealed number deleted.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.ami import AmiClient, AmiMessage
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import DaemonProcess
from harness.faults import REPO, eventually
from harness.sandbox import Sandbox
from harness.sipp import operator_uas
from harness.trunk import operator_trunk

from ivr.callbacks import store
from ivr.clock import TEST_CLOCK_FILE
from ivr.store.db import open_database

pytestmark = pytest.mark.real_daemon

GENERAL_AGENTS = ("1001", "1002", "1003")
STANDIN = re.compile(r"^Local/cb(\d+)@ivr-callback-hold-")
EVENING = {"IVR_TEST_NOW": "2026-12-01T19:30"}  # Tuesday after closing: the next opening is 07:00
MAIN = "+4640341000"
CONFIRMS, WITHHELD_KEYS, KEYS_OTHER, REFUSED = "+46701119701", "+46701119702", "+46701119703", "+46701119704"
OTHER = "+46701119733"

# Beep, then "press 1 to be called back" (10 s of silence); the opening hours decide.
PLAN = """\
plan: requests
numbers: ["+4640341000", "040341000", "40341000", "+46403410000", "4034100"]
languages: [sv]
default_language: sv
start: hello
nodes:
  hello: {kind: play, prompt: beep, next: hours}
  hours: {kind: hours, schedule: contact_center, open: queue_general, closed: offer}
  offer:
    kind: menu
    prompt: wait
    options: {"1": leave_number}
    timeout: 5
    attempts: 1
    fallback: goodbye
  leave_number: {kind: callback_request, group: general}
  queue_general: {kind: queue, group: general}
  goodbye: {kind: hangup, prompt: beep, reason: closed_hours}
prompts:
  beep: {recording: {sv: beep}}
  wait: {recording: {sv: silence/10}}
"""


def config(folder: Path, per_day: int) -> list[str]:
    plans, agents = folder / "dialplans", folder / "agents"
    plans.mkdir(parents=True, exist_ok=True)
    (plans / "requests.yaml").write_text(PLAN, encoding="utf-8")
    shutil.copytree(REPO / "agents", agents)
    groups = agents / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    assert text.count("per_day: 40") == 1
    groups.write_text(text.replace("per_day: 40", f"per_day: {per_day}"), encoding="utf-8")
    return [str(REPO / "routing_rules.yaml"), str(agents), str(plans)]


def user_of(header: str | None) -> str | None:
    match = re.search(r"<?sips?:([^@;>]+)@", header or "")
    return match[1] if match else None


@pytest.fixture
async def general_agents_away(ami: AmiClient) -> AsyncIterator[None]:
    for agent in GENERAL_AGENTS:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "1")
    yield
    for agent in GENERAL_AGENTS:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "")


async def heard(call: CitizenHandle, prompt: str, timeout: float = 20, since: int | None = None) -> AmiMessage:
    return await call.wait_for(lambda e: e.Event == "AGIExecStart" and prompt in (e.Command or ""), timeout,
                               since=since, what=f"the caller hearing {prompt}")


async def ended_with_hangup(call: CitizenHandle) -> None:
    await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "hangup", 20,
                        what="the daemon ending the call after its message")


async def leave_request(citizens: Citizens, caller: str, steps: list[tuple[str, str]], *,
                        withheld: bool = False) -> CitizenHandle:
    """Call, press 1 at the offer, then for each (prompt, keys) wait for the prompt and press. Every key
    is pressed once its prompt plays: a key between two AGI commands would be lost."""
    steps = [("silence/10", "1"), *steps]  # the offer: "press 1 to be called back"
    call = await citizens.call(dtmf="", first_wait=0.1, then=[keys for _, keys in steps], hold=60, caller_id=caller,
                               withheld=withheld, variables=EVENING)
    since = None
    for prompt, _ in steps:
        since = (await heard(call, prompt, since=since)).index + 1  # the prompt heard again: after the last
        await call.press()
    return call


def standin_joined(e: AmiMessage) -> bool:
    return e.Event == "QueueCallerJoin" and e.Queue == "kc-general" and bool(STANDIN.match(e.Channel or ""))


async def test_after_hours_requests_are_called_back_at_the_opening_from_the_main_number(
        ami: AmiClient, asterisk: Sandbox, citizens: Citizens, general_agents_away: None, tmp_path: Path) -> None:
    state = tmp_path / "daemon"
    daemon = DaemonProcess(state_dir=state, config_paths=config(tmp_path / "config", per_day=3),
                           env={"IVR_CALLBACK_SCAN_S": "1"})
    await daemon.start()
    try:
        confirms = await leave_request(citizens, CONFIRMS, [("callback-your-number", "1")])
        await heard(confirms, "callback-booked")
        await ended_with_hangup(confirms)
        withheld = await leave_request(citizens, WITHHELD_KEYS, [("callback-enter-number", "0701119702#"),
                                                                 ("callback-your-number", "1")], withheld=True)
        await heard(withheld, "callback-booked")
        other = await leave_request(citizens, KEYS_OTHER, [("callback-your-number", "2"),
                                                           ("callback-enter-number", "0701119733#"),
                                                           ("callback-your-number", "1")])
        await heard(other, "callback-booked")
        refused = await leave_request(citizens, REFUSED, [("callback-your-number", "1")])
        limit = await heard(refused, "callback-limit")  # the day is full: said, never silence
        played = await refused.wait_for(lambda e: e.Event == "AGIExecEnd" and e.CommandId == limit.CommandId, 20,
                                        since=limit.index, what="the limit message played")
        # A message of several seconds, played to its end (a missing sound file returns at once).
        assert played.ResultCode == "200" and float(played.Timestamp or 0) - float(limit.Timestamp or 0) > 2.0
        await ended_with_hangup(refused)

        db = open_database(f"sqlite:///{state / 'ivr.db'}", migrate=False)
        try:
            rows = store.in_states(db, store.OPEN_STATES)
        finally:
            db.close()
        assert [(r.kind, r.state, r.queue) for r in rows] == [("request", "pending", "kc-general")] * 3
        booked = [r.id for r in rows]  # in the order left
        await asyncio.sleep(3)  # three scans: nothing is placed before the opening
        assert not ami.recorder.find(standin_joined)

        since = ami.recorder.mark()
        (state / TEST_CLOCK_FILE).write_text("2026-12-02T07:00:01+01:00\n", encoding="utf-8")
        joins: list[AmiMessage] = []
        for count in range(1, 4):
            start = joins[-1].index + 1 if joins else since
            joins.append(await ami.recorder.wait_for(standin_joined, 20, since=start,
                                                     what=f"stand-in {count} in kc-general"))
        order = [int(STANDIN.match(e.Channel or "")[1]) for e in joins]  # type: ignore[index]
        assert order == booked
        assert [int(e.Position or 0) for e in joins] == [1, 2, 3]

        with operator_trunk(asterisk):
            async with operator_uas(calls=3, ring=0.2, hangup_after=1, workdir=tmp_path / "operator") as operator:
                for agent in GENERAL_AGENTS:
                    await ami.set_global(f"AGENT_{agent}_NOANSWER", "")
                invites = [await operator.wait_invite(60, count=n) for n in (1, 2, 3)]
                # On the wire to each citizen: their number (the keyed one where keyed), the main number shown.
                assert sorted(user_of(i.uri) or "" for i in invites) == sorted([CONFIRMS, WITHHELD_KEYS, OTHER])
                for invite in invites:
                    assert user_of(invite.headers.get("From")) == MAIN
                    assert user_of(invite.headers.get("P-Asserted-Identity")) == MAIN
                    assert "Privacy" not in invite.headers

                def all_done() -> bool:
                    done = open_database(f"sqlite:///{state / 'ivr.db'}", migrate=False)
                    try:
                        found = [store.get(done, callback_id) for callback_id in booked]
                    finally:
                        done.close()
                    return all(r is not None and r.state == "done" and r.number_sealed is None for r in found)

                await eventually(all_done, 60, "the three callbacks done, their numbers deleted")
        log = daemon.log_text()
    finally:
        await daemon.stop()
    assert log.count("callback request booked") == 3
    assert "callback request refused: the day's limit is reached" in log
    for number in (CONFIRMS, WITHHELD_KEYS, OTHER, REFUSED):
        assert number[1:] not in log  # numbers only masked in the daemon's log
