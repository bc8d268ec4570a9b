"""Citizens over the real SIP wire (SIPp through the operator's trunk, harness/sipp.py): A-law and
µ-law callers, and withheld callers, with the real daemon and the real Asterisk.

A withheld call arrives as the operator sends it: anonymous From and `Privacy: id`, with or without
the network's P-Asserted-Identity. With the number asserted, Asterisk (trust_id_inbound) hands the
daemon the number with a restricted presentation; the daemon must use it for nothing: no contact
registry look-up (no offer to reach whoever tried to call them), no repeat-caller boost, and a call
record without a number reference.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.ami import AmiClient
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import DaemonProcess
from harness.faults import QUICK_KEYS, call_records, quick_config
from test_returning_caller_live import attempts_ended, missed_call

pytestmark = pytest.mark.real_daemon

STREETS = QUICK_KEYS["kc-streets"]
TALK = {"__AGENT_TALK": "1", "__AGENT_ANSWER_DELAY": "0"}
NATIVE = {"PCMA": "alaw", "PCMU": "ulaw"}


@pytest.fixture
async def quick_daemon(tmp_path: Path) -> AsyncIterator[DaemonProcess]:
    """The real daemon with the shipped rules and agents and the reliability tests' short plan."""
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"))
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


@pytest.fixture
def over_sip(citizens: Citizens) -> Citizens:
    if not citizens.over_sip:
        pytest.fail("these tests are about the SIP wire: unset IVR_TEST_CITIZENS=local")
    return citizens


async def queued(call: CitizenHandle, queue: str = "kc-streets") -> None:
    joined = await call.wait_event(30, Event="QueueCallerJoin")
    assert joined.Queue == queue  # the menu key arrived as an RFC 4733 event


def placement(daemon: DaemonProcess, call: CitizenHandle) -> dict[str, object]:
    return next(line for line in daemon.log_lines()
                if line.get("event") == "queue placement" and line.get("uniqueid") == call.uniqueid)


@pytest.mark.parametrize("codec", ["PCMA", "PCMU"])
async def test_alaw_and_ulaw_callers_are_served(ami: AmiClient, over_sip: Citizens, quick_daemon: DaemonProcess,
                                                codec: str) -> None:
    """Sweden's PSTN is A-law; µ-law works too. Asterisk answers with the caller's codec only, the
    channel runs natively in it, and the keys (RFC 4733 beside that codec) reach the menu."""
    call = await over_sip.call(caller_id="+46701118700", dtmf=STREETS, hold=30, codec=codec, variables=TALK)
    await queued(call)
    native = await ami.get_var("CHANNEL(audionativeformat)", channel=call.channel)
    assert native == f"({NATIVE[codec]})"
    await call.hangup()
    wire = await call.sip_result()
    assert wire.invite.sdp_codecs() == [codec, "telephone-event"]
    assert wire.answer is not None and wire.answer.sdp_codecs() == [codec, "telephone-event"]
    assert wire.hung_up_by_asterisk  # the test hung the channel up: Asterisk's BYE, answered


async def test_withheld_callers_are_not_identified(ami: AmiClient, over_sip: Citizens,
                                                   quick_daemon: DaemonProcess) -> None:
    daemon = quick_daemon
    shown, hidden = "+46701118801", "+46701118802"
    # An official tried to reach `hidden` (an open attempt in the contact registry).
    await missed_call(ami, daemon, hidden)
    await attempts_ended(daemon, 1)

    first_shown, first_hidden, anonymous = await asyncio.gather(
        over_sip.call(caller_id=shown, dtmf=STREETS, hold=30, variables=TALK),
        over_sip.call(withheld=True, asserted=hidden, dtmf=STREETS, hold=30, variables=TALK),
        over_sip.call(withheld=True, dtmf=STREETS, hold=30, variables=TALK))
    await asyncio.gather(*(queued(c) for c in (first_shown, first_hidden, anonymous)))
    # On the wire: anonymous From, Privacy: id, and the network's PAI for one of them.
    invites = {}
    for call in (first_hidden, anonymous):
        await call.hangup()
        invites[call.uniqueid] = invite = (await call.sip_result()).invite
        assert "anonymous@anonymous.invalid" in (invite.headers.get("From") or "")
        assert invite.headers.get("Privacy") == "id"
    assert hidden in (invites[first_hidden.uniqueid].headers.get("P-Asserted-Identity") or "")
    assert "P-Asserted-Identity" not in invites[anonymous.uniqueid].headers
    await first_shown.hangup()

    # Called again within repeat_within: the shown number is boosted, the withheld one is not.
    second_shown, second_hidden = await asyncio.gather(
        over_sip.call(caller_id=shown, dtmf=STREETS, hold=30, variables=TALK),
        over_sip.call(withheld=True, asserted=hidden, dtmf=STREETS, hold=30, variables=TALK))
    await asyncio.gather(queued(second_shown), queued(second_hidden))
    assert "called again" in placement(daemon, second_shown)["reasons"]  # type: ignore[operator]
    assert placement(daemon, first_hidden)["reasons"] == []
    assert placement(daemon, second_hidden)["reasons"] == []
    assert placement(daemon, anonymous)["reasons"] == []
    await asyncio.gather(second_shown.hangup(), second_hidden.hangup())

    # The registry does have an attempt for that number: shown, the same number is offered it.
    presented = await over_sip.call(caller_id=hidden, dtmf="", hold=30)
    await daemon.wait_log(lambda line: line.get("event") == "returning caller offered a connection"
                          and line.get("uniqueid") == presented.uniqueid, 30)
    await presented.hangup()
    offered = {line["uniqueid"] for line in daemon.log_lines()
               if line.get("event") == "returning caller offered a connection"}
    assert offered == {presented.uniqueid}  # never to the withheld calls from that number
    await asyncio.gather(*(c.wait_hangup(15) for c in over_sip.calls))

    await daemon.stop()  # the records are on disk
    records = call_records(f"sqlite:///{daemon.state_dir / 'ivr.db'}")
    for call in (first_hidden, second_hidden, anonymous):
        assert not records[call.uniqueid]["caller_ref"], call.caller_id
    for call in (first_shown, second_shown, presented):
        assert re.fullmatch(r"[0-9a-f]{12}", str(records[call.uniqueid]["caller_ref"])), call.caller_id
    assert records[first_shown.uniqueid]["caller_ref"] == records[second_shown.uniqueid]["caller_ref"]
    withheld_lines = [line for line in daemon.log_lines() if line.get("uniqueid") == first_hidden.uniqueid]
    assert withheld_lines and all(line.get("caller", "(withheld)") == "(withheld)" for line in withheld_lines)
    assert hidden[3:] not in daemon.log_text() and shown[3:] not in daemon.log_text()
