"""Agents' phones as real queue members, over SIP: SIPp registers as agent 1006's desk phone with
digest auth (the password from the sandbox's pjsip_agents_auth.conf, as `ivr asterisk passwords`
writes it), logs in by dialling *45, is rung by the queue as PJSIP/1006 and answers a citizen who
called over SIP; a queued callback rings that phone first and then the citizen through the
operator's trunk (SIPp as the operator), showing the city's main number on the wire. That callback
runs with the dialplan's first daemon down (a cluster's IVR_AGI_HOSTS with a dead port first): the
caller's request and the stand-in's `connect` are served by the next daemon of the list.

The daemon runs in this process with the production agent interface (PJSIP/{extension}); the
sandbox's static stand-ins in kc-social are paused so only the phone takes its calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.agi_hosts import agi_tries
from harness.ami import AmiClient
from harness.citizens import Citizens
from harness.sandbox import Sandbox
from harness.sipp import AgentPhone, SippError, agent_phone, operator_uas
from harness.trunk import operator_trunk
from test_callbacks_live import STANDIN, filler, quick_config, social_standins_paused  # noqa: F401 (fixture)
from test_queues_agents import members, settings_for, started, until

from ivr.callbacks import store
from ivr.daemon import Daemon
from ivr.store.db import open_database

EXTENSION, AGENT = "1006", "farah.ali"
INTERFACE = f"PJSIP/{EXTENSION}"
FARAHS_QUEUES = ["kc-school", "kc-school-ar", "kc-social", "kc-social-ar", "kc-social-en"]
SOCIAL = "w3"  # the quick plan's key for kc-social (harness/faults.py QUICK_KEYS)


def user_of(header: str | None) -> str | None:
    match = re.search(r"<?sips?:([^@;>]+)@", header or "")
    return match[1] if match else None


@pytest.fixture
async def phone_logged_out(ami: AmiClient) -> AsyncIterator[None]:
    """No queue has the phone as a member before or after the test."""

    async def clean() -> None:
        for row in await ami.action_list("QueueStatus"):
            if row.Event == "QueueMember" and row.Location == INTERFACE:
                await ami.action("QueueRemove", Queue=row.Queue, Interface=INTERFACE, check=False)

    await clean()
    yield
    await clean()


@pytest.fixture
async def daemon(tmp_path: Path, phone_logged_out: None) -> AsyncIterator[Daemon]:
    settings = dataclasses.replace(settings_for(quick_config(tmp_path / "config"), tmp_path / "state"),
                                   agent_interface="PJSIP/{extension}")
    running = await started(settings)
    try:
        yield running
    finally:
        await running.stop(grace=2)


async def contact_status(ami: AmiClient, phone: AgentPhone) -> str:
    """Asterisk's view of the phone's registration: its line of `pjsip show contacts` ("" if none)."""
    out = await ami.command("pjsip show contacts")
    return next((x for x in out.splitlines() if f"{EXTENSION}/sip:{EXTENSION}@127.0.0.1:{phone.port}" in x), "")


async def reachable(ami: AmiClient, phone: AgentPhone) -> None:
    """Registered, and qualified (Asterisk's OPTIONS answered): the queue will ring it."""
    await until(lambda: _has(ami, phone, "Avail"), 15, "the phone's contact Avail in Asterisk")


async def _has(ami: AmiClient, phone: AgentPhone, status: str) -> bool:
    return status in await contact_status(ami, phone)


@pytest.mark.asterisk_only
async def test_a_wrong_password_does_not_register(phone_passwords: dict[str, str], tmp_path: Path) -> None:
    assert phone_passwords[EXTENSION]  # the real one exists; this is not it
    with pytest.raises(SippError):
        async with agent_phone(EXTENSION, "not-the-password", workdir=tmp_path / "phone"):
            pass


@pytest.mark.in_process_daemon
@pytest.mark.usefixtures("social_standins_paused")
async def test_phone_logs_in_with_star45_and_answers_the_queue(
        ami: AmiClient, citizens: Citizens, daemon: Daemon, phone_passwords: dict[str, str], tmp_path: Path) -> None:
    async with agent_phone(EXTENSION, phone_passwords[EXTENSION], talk=2, workdir=tmp_path / "phone") as phone:
        register = [m for m in phone.messages() if m.method == "REGISTER" and m.direction == "sent"]
        assert len(register) == 2 and "Authorization" in register[1].headers  # digest, after the 401
        await reachable(ami, phone)

        await phone.dial("*45")
        joined = await members(ami, AGENT)
        assert sorted(joined) == FARAHS_QUEUES
        assert {row.Location for row in joined.values()} == {INTERFACE}
        assert {row.StateInterface for row in joined.values()} == {INTERFACE}

        since = ami.recorder.mark()
        citizen = await citizens.call(caller_id="+46701119901", dtmf=SOCIAL, hold=60)
        invite = await phone.rung(40)
        assert user_of(invite.headers.get("From")) == "+46701119901"  # the agent's display shows the caller
        connect = await citizen.wait_event(20, since=since, Event="AgentConnect")
        assert (connect.Queue, connect.Interface, connect.MemberName) == ("kc-social", INTERFACE, AGENT)
        complete = await citizen.wait_event(20, since=since, Event="AgentComplete")
        assert complete.Reason == "agent"  # the phone hung up after its 2 s of talk
        if citizens.over_sip:
            heard = await citizen.sip_result()
            assert heard.hung_up_by_asterisk
            # Who answered stays inside the city: no re-INVITE/UPDATE names the agent's phone or name
            # (the trunk's send_connected_line = no).
            identity = ("P-Asserted-Identity", "Remote-Party-ID", "From")
            told = [m for m in heard.result.messages if m.direction == "received"
                    and EXTENSION in " ".join(m.headers.get(h) or "" for h in identity)]
            assert told == [], [m.start_line for m in told]

        await phone.dial("*46")
        assert await members(ami, AGENT) == {}
    assert await contact_status(ami, phone) == ""  # unregistered on the way out


@pytest.mark.in_process_daemon
@pytest.mark.usefixtures("social_standins_paused")
async def test_queued_callback_rings_the_phone_then_the_citizen_showing_the_main_number(
        ami: AmiClient, asterisk: Sandbox, citizens: Citizens, daemon: Daemon, phone_passwords: dict[str, str],
        first_daemon_down: str, tmp_path: Path) -> None:
    dead, live = first_daemon_down, f"127.0.0.1:{daemon.settings.agi_port}"
    citizen_number = "+46701119902"
    main = daemon.app.config.current.rules.main_number
    ahead = await filler(ami, "+46701119903")  # someone waits: kc-social offers a callback
    citizen = await citizens.call(dtmf=SOCIAL, then=["1", "1"], hold=60, caller_id=citizen_number)
    joined = await citizen.wait_event(30, Event="QueueCallerJoin", Queue="kc-social")
    # Queue() loses a key pressed during its position announcement (docs/queues-and-agents.md).
    music = await citizen.wait_event(10, Event="MusicOnHoldStart", since=joined.index + 1)
    await citizen.wait_event(15, Event="MusicOnHoldStart", since=music.index + 1)
    await asyncio.sleep(0.5)
    await citizen.press()  # 1: "call me back"
    await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "callback-your-number" in (e.Command or ""),
                           15, what="the number read back")
    await citizen.press()  # 1: "yes, this number"
    await citizen.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "callback",
                           20, what="the callback booked")
    await citizen.wait_hangup(15)
    # The first daemon refused at once (FAILURE); the second took the request (SUCCESS).
    assert agi_tries(citizen.events(), "callback,request") == [(f"agi://{dead}/callback,request", "FAILURE"),
                                                           (f"agi://{live}/callback,request", "SUCCESS")]
    standin = await ami.recorder.wait_for(
        lambda e: e.Event == "QueueCallerJoin" and bool(STANDIN.match(e.Channel or "")), 15, what="the stand-in")
    callback_id = int(STANDIN.match(standin.Channel or "")[1])  # type: ignore[index]
    await ahead.hangup()  # only the callback's stand-in waits now

    with operator_trunk(asterisk):
        async with operator_uas(ring=0.2, workdir=tmp_path / "operator") as operator, \
                agent_phone(EXTENSION, phone_passwords[EXTENSION], talk=4, workdir=tmp_path / "phone") as phone:
            await reachable(ami, phone)
            since = ami.recorder.mark()
            await phone.dial("*45")
            taken = await ami.recorder.wait_for(
                lambda e: e.Event == "AgentConnect" and e.Uniqueid == standin.Uniqueid, 30, since=since,
                what="the phone answering the stand-in")
            assert (taken.Interface, taken.MemberName) == (INTERFACE, AGENT)
            rung = await phone.rung(5)
            out = await operator.wait_invite(30)
            # On the wire to the operator: the citizen's number dialled, the city's main number shown.
            assert user_of(out.uri) == citizen_number
            assert user_of(out.headers.get("From")) == main
            assert user_of(out.headers.get("P-Asserted-Identity")) == main  # the sandbox trunk sends PAI
            assert "Privacy" not in out.headers
            # The agent first, then the citizen: the phone had answered before the operator's INVITE.
            answered = next(m for m in phone.messages() if m.direction == "sent" and m.status == 200
                            and m.cseq_method == "INVITE" and m.headers.get("Call-ID") == rung.headers.get("Call-ID"))
            assert answered.logged_at < out.logged_at
            # The stand-in's ;1 in [ivr-callback-connect] got the number from the second daemon.
            connect = f"Local/cb{callback_id}@ivr-callback-hold-"
            leg = ami.recorder.find(lambda e: connect in (e.Channel or "") and (e.Channel or "").endswith(";1"), since)
            assert agi_tries(leg, "callback,connect") == [(f"agi://{dead}/callback,connect", "FAILURE"),
                                                      (f"agi://{live}/callback,connect", "SUCCESS")]
            db = open_database(f"sqlite:///{daemon.settings.state_dir / 'ivr.db'}", migrate=False)
            try:
                def finished() -> bool:
                    row = store.get(db, callback_id)
                    return row is not None and row.state == "done"

                await until(finished, 30, "the callback recorded as done")
            finally:
                db.close()
            await phone.dial("*46")
