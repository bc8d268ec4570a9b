"""The after-call satisfaction survey on the real Asterisk with the real `ivr run` process and citizens
over SIP. The daemon's config is the shipped one with the survey on for `social` and `streets`, and the
short plan of the reliability tests (a beep, then 3 = social, 5 = streets).

What the caller heard is read from Asterisk's own account of the daemon's commands (AGIExecStart
`STREAM FILE ivr/sv/survey-…`); the answer from the call record in the daemon's database and from
`ivr report --survey`.

- An agent's SIPp desk phone (1006, Farah: social) answers and hangs up first; the caller who pressed 1
  at the offer hears the question and keys 4: score 4 in the record and in the report.
- The sandbox's stand-in agents of kc-streets answer and hang up after a second for the rest: a caller
  who did not opt in hears no question (Asterisk hangs up with the agent); a caller who hangs up during
  the question leaves no score and no error; a key outside 1-5 is asked again once.
- With no daemon at all, a caller who had opted in (IVR_SURVEY=1 set as the daemon would) is hung up
  at once when the agent hangs up: no survey, no silence.
- With the dialplan's first daemon down (a dead port first in IVR_AGI_HOSTS, as a cluster's list with
  one daemon gone), the call and then the survey go on to the next daemon, which asks the question.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from harness.agi_hosts import agi_tries
from harness.ami import AmiClient, AmiMessage
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import DaemonProcess
from harness.faults import QUICK_KEYS, QUICK_PLAN
from harness.sipp import agent_phone
from test_agent_phones_sip import EXTENSION, INTERFACE, phone_logged_out, reachable  # noqa: F401 (fixture)
from test_callbacks_live import social_standins_paused  # noqa: F401 (fixture)
from test_queues_agents import members, until

from ivr.records import store
from ivr.store.db import open_database

REPO = Path(__file__).resolve().parents[2]
AGENT = "farah.ali"
STREETS = QUICK_KEYS["kc-streets"]
SOCIAL = QUICK_KEYS["kc-social"]
QUICK_AGENT = {"__AGENT_TALK": "1"}


def survey_config(folder: Path) -> list[str]:
    """The shipped rules and agents with `survey: {wait_s: 5}` for social and streets; the quick plan."""
    shutil.copytree(REPO / "agents", folder / "agents")
    shutil.copy(REPO / "routing_rules.yaml", folder / "routing_rules.yaml")
    groups = folder / "agents" / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    for name in ("social", "streets"):
        head = f"  {name}:\n"
        assert text.count(head) == 1
        text = text.replace(head, f"{head}    survey: {{wait_s: 5}}\n")
    groups.write_text(text, encoding="utf-8")
    (folder / "dialplans").mkdir()
    (folder / "dialplans" / "quick.yaml").write_text(QUICK_PLAN, encoding="utf-8")
    return [str(folder)]


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[DaemonProcess]:
    process = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=survey_config(tmp_path / "config"),
                            env={"IVR_AGENT_INTERFACE": "PJSIP/{extension}"})
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def played(prompt: str) -> Any:
    """An AGI STREAM FILE of the survey prompt `prompt` (any language)."""
    return lambda e: e.Event == "AGIExecStart" and "STREAM FILE" in (e.Command or "") \
        and f"/{prompt}" in (e.Command or "")


def record(daemon: DaemonProcess, uniqueid: str) -> dict[str, Any] | None:
    db = open_database(f"sqlite:///{daemon.state_dir / 'ivr.db'}")
    try:
        return next((r for r in store.fetch(db, 0, 2**40) if r["uniqueid"] == uniqueid), None)
    finally:
        db.close()


async def settled_record(daemon: DaemonProcess, uniqueid: str, check: Any, what: str) -> dict[str, Any]:
    """The call's record once `check` holds (the daemon's writer works in the background)."""
    found: dict[str, Any] = {}

    def ready() -> bool:
        row = record(daemon, uniqueid)
        if row is not None:
            found.update(row)
        return row is not None and bool(check(row))

    await until(ready, 20, what)
    return found


def survey_report(daemon: DaemonProcess) -> dict[str, Any]:
    today = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
    done = subprocess.run([sys.executable, "-m", "ivr", "report", "--survey", "--from", today, "--to", today,
                           "--db", f"sqlite:///{daemon.state_dir / 'ivr.db'}", "--config", *daemon.config_paths,
                           "--format", "json"], capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


async def opt_in(citizen: CitizenHandle) -> None:
    """The caller hears the offer and presses 1 (their next `then` group)."""
    await citizen.wait_for(played("survey-offer"), 30, what="the survey offer")
    await citizen.press()


async def agent_hung_up(citizen: CitizenHandle, queue: str) -> AmiMessage:
    complete = await citizen.wait_event(60, Event="AgentComplete", Queue=queue)
    assert complete.Reason == "agent"  # the agent hung up first
    return complete


def errors(daemon: DaemonProcess) -> list[dict[str, Any]]:
    return [line for line in daemon.log_lines(since=daemon.log_offset) if line.get("level") in ("error", "critical")]


@pytest.mark.real_daemon
@pytest.mark.usefixtures("social_standins_paused", "phone_logged_out")
async def test_opted_in_caller_answers_after_the_agents_phone_hangs_up(
        ami: AmiClient, citizens: Citizens, daemon: DaemonProcess, phone_passwords: dict[str, str],
        tmp_path: Path) -> None:
    async with agent_phone(EXTENSION, phone_passwords[EXTENSION], talk=2, workdir=tmp_path / "phone") as phone:
        await reachable(ami, phone)
        await phone.dial("*45")  # through the daemon's route `agent`
        joined: dict[str, AmiMessage] = {}

        async def logged_in() -> bool:
            joined.update(await members(ami, AGENT))
            return "kc-social" in joined

        await until(logged_in, 15, "the phone's *45 logging Farah in")
        assert joined["kc-social"].Location == INTERFACE

        citizen = await citizens.call(caller_id="+46701119931", dtmf=SOCIAL, then=["1", "4"], hold=60)
        await opt_in(citizen)
        connect = await citizen.wait_event(60, Event="AgentConnect", Queue="kc-social")
        assert connect.Interface == INTERFACE  # the SIPp phone took the call
        complete = await agent_hung_up(citizen, "kc-social")
        question = await citizen.wait_for(played("survey-question"), 20, since=complete.index,
                                          what="the question after the agent's hangup")
        assert "ivr/sv/survey-question" in (question.Command or "")  # the caller's language (the plan's sv)
        # The caller is asked at once: no silence after the agent's hangup (a new FastAGI session).
        assert question.received_at - complete.received_at < 3
        await citizen.press()  # 4
        await citizen.wait_for(played("survey-thanks"), 20, what="the thanks")
        await citizen.wait_hangup(20)
        await phone.dial("*46")
    if citizens.over_sip:
        assert (await citizen.sip_result()).hung_up_by_asterisk

    line = await daemon.wait_log(lambda e: e.get("event") == "survey answered" and e.get("uniqueid") ==
                                 citizen.uniqueid, 10)
    assert (line["score"], line["queue"], line["group"]) == (4, "kc-social", "social")
    row = await settled_record(daemon, citizen.uniqueid, lambda r: r["survey_score"] == 4, "the score in the record")
    assert (row["outcome"], row["agent"], row["queue"], row["survey_opt_in"]) == ("answered", AGENT, "kc-social", 1)
    data = survey_report(daemon)
    [social] = [g for g in data["sections"]["group"] if g["group"] == "social"]
    assert (social["opted_in"], social["responses"], social["score"], social["by_score"]["4"]) == (1, 1, 4.0, 1)
    assert errors(daemon) == []


@pytest.mark.real_daemon
async def test_caller_who_did_not_opt_in_hears_no_question(citizens: Citizens, daemon: DaemonProcess) -> None:
    citizen = await citizens.call(caller_id="+46701119932", dtmf=STREETS, hold=60, variables=QUICK_AGENT)
    offered = await citizen.wait_for(played("survey-offer"), 30, what="the survey offer")  # offered, not taken
    joined = await citizen.wait_event(30, Event="QueueCallerJoin", Queue="kc-streets")
    assert joined.received_at - offered.received_at > 5  # the offer, then wait_s (5) for a key that never came
    complete = await agent_hung_up(citizen, "kc-streets")
    ended = await citizen.wait_hangup(10)
    assert ended.received_at - complete.received_at < 3  # hung up with the agent, as without a survey
    assert citizen.events(played("survey-question")) == []
    assert citizen.events(lambda e: e.Event == "Newexten" and e.Context == "ivr-survey") == []
    if citizens.over_sip:
        assert (await citizen.sip_result()).hung_up_by_asterisk
    row = await settled_record(daemon, citizen.uniqueid, lambda r: r["ended"] is not None, "the call's end")
    assert (row["outcome"], row["survey_opt_in"], row["survey_score"]) == ("answered", None, None)
    line = await daemon.wait_log(lambda e: e.get("event") == "survey offered" and e.get("uniqueid") ==
                                 citizen.uniqueid, 5)
    assert line["agreed"] is False


@pytest.mark.real_daemon
async def test_caller_who_hangs_up_instead_of_answering_leaves_no_score(citizens: Citizens,
                                                                        daemon: DaemonProcess) -> None:
    if not citizens.over_sip:
        pytest.skip("the caller's own BYE needs a SIP citizen")
    # After pressing 1 the caller stays about 20 s, then hangs up without a key: the agent answered and
    # hung up within about 3 s (1 s ringing, 1 s talk), and the question is asked twice (7.3 s and 6 s
    # for a key each, with "1 to 5" between: about 30 s), so the caller leaves in the middle of it.
    citizen = await citizens.call(caller_id="+46701119933", dtmf=STREETS, then=["1"], hold=18, variables=QUICK_AGENT)
    await opt_in(citizen)
    complete = await agent_hung_up(citizen, "kc-streets")
    await citizen.wait_for(played("survey-question"), 20, since=complete.index, what="the question")
    await citizen.wait_hangup(30)
    assert not (await citizen.sip_result()).hung_up_by_asterisk  # the caller's BYE
    await daemon.wait_log(lambda e: e.get("event") == "caller hung up during the survey; no score"
                          and e.get("uniqueid") == citizen.uniqueid, 10)
    row = await settled_record(daemon, citizen.uniqueid, lambda r: r["ended"] is not None, "the call's end")
    assert (row["outcome"], row["survey_opt_in"], row["survey_score"]) == ("answered", 1, None)
    assert citizen.events(played("survey-thanks")) == []
    assert errors(daemon) == []


@pytest.mark.real_daemon
async def test_a_key_outside_1_to_5_is_asked_again_once(citizens: Citizens, daemon: DaemonProcess) -> None:
    citizen = await citizens.call(caller_id="+46701119934", dtmf=STREETS, then=["1", "9", "2"], hold=60,
                                  variables=QUICK_AGENT)
    await opt_in(citizen)
    complete = await agent_hung_up(citizen, "kc-streets")
    first = await citizen.wait_for(played("survey-question"), 20, since=complete.index, what="the question")
    await citizen.press()  # 9
    invalid = await citizen.wait_for(played("survey-invalid"), 20, since=first.index, what="'press 1 to 5'")
    await citizen.wait_for(played("survey-question"), 20, since=invalid.index, what="the question again")
    await citizen.press()  # 2
    await citizen.wait_for(played("survey-thanks"), 20, what="the thanks")
    await citizen.wait_hangup(20)
    assert len(citizen.events(played("survey-question"))) == 2
    row = await settled_record(daemon, citizen.uniqueid, lambda r: r["survey_score"] == 2, "the score in the record")
    assert (row["outcome"], row["survey_opt_in"], row["queue"]) == ("answered", 1, "kc-streets")
    [streets] = [g for g in survey_report(daemon)["sections"]["group"] if g["group"] == "streets"]
    assert (streets["opted_in"], streets["responses"], streets["score"], streets["by_score"]["2"]) == (1, 1, 2.0, 1)


@pytest.mark.asterisk_only
async def test_with_the_daemon_down_the_opted_in_caller_is_hung_up_cleanly(ami: AmiClient) -> None:
    # As the daemon would have left the call: queued in kc-streets, opted in. No daemon listens.
    caller = await ami.originate_caller(context="ivr-queue", exten="s", dtmf="", hold=60, caller_id="+46701119935",
                                        variables={"IVR_QUEUE": "kc-streets", "IVR_SURVEY": "1",
                                                   "IVR_LANG": "sv", **QUICK_AGENT})
    complete = await caller.wait_event(60, Event="AgentComplete", Queue="kc-streets")
    assert complete.Reason == "agent"
    tried = await caller.wait_for(lambda e: e.Event == "Newexten" and e.Context == "ivr-agi"
                                  and e.Application == "AGI" and str(e.AppData).endswith("/survey"), 10,
                                  what="the survey's AGI tried")
    ended = await caller.wait_hangup(10)
    assert ended.received_at - complete.received_at < 3  # at once: no silence while nothing answers
    status = caller.first(lambda e: e.Event == "VarSet" and e.Variable == "AGISTATUS" and e.index > tried.index)
    assert status is not None and status.Value == "FAILURE"


@pytest.mark.real_daemon
async def test_with_the_first_daemon_down_the_next_one_asks(citizens: Citizens, daemon: DaemonProcess,
                                                            first_daemon_down: str) -> None:
    dead, live = first_daemon_down, f"127.0.0.1:{daemon.agi_port}"
    citizen = await citizens.call(caller_id="+46701119936", dtmf=STREETS, then=["1", "5"], hold=60,
                                  variables=QUICK_AGENT)
    await opt_in(citizen)
    complete = await agent_hung_up(citizen, "kc-streets")
    await citizen.wait_for(played("survey-question"), 20, since=complete.index, what="the question")
    await citizen.press()  # 5
    await citizen.wait_for(played("survey-thanks"), 20, what="the thanks")
    await citizen.wait_hangup(20)
    # The dead daemon refused the survey at once (FAILURE) and the next one asked (SUCCESS).
    assert agi_tries(citizen.events(), "survey") == [(f"agi://{dead}/survey", "FAILURE"),
                                                     (f"agi://{live}/survey", "SUCCESS")]
    row = await settled_record(daemon, citizen.uniqueid, lambda r: r["survey_score"] == 5, "the score in the record")
    assert (row["outcome"], row["survey_opt_in"], row["queue"]) == ("answered", 1, "kc-streets")
