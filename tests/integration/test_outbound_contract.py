"""The dialplan's side of the outbound and returning-caller contract, with a fake FastAGI daemon that
sets what a broken or hostile daemon might: the call is always placed (or queued), never with an
injected argument. With the dialplan's first daemon down (a dead port first in IVR_AGI_HOSTS), the
route `outbound` goes on to the next daemon, whose caller ID the citizen sees."""

from __future__ import annotations

import asyncio

import pytest
from harness.agi_hosts import agi_tries
from harness.ami import AmiClient, SimCall
from harness.fake_agi import AgiScript, FakeAgi
from harness.ports import AGI_PORT

pytestmark = pytest.mark.asterisk_only


async def phone_dials(ami: AmiClient, agi: FakeAgi, extension: str, dialled: str, commands: list[str],
                      *, hang: bool = False, **variables: str) -> SimCall:
    token_call = await ami.originate_caller(exten=dialled, context="officials-outbound", caller_id=extension,
                                            dtmf="", first_wait=0, hold=10, variables=variables)
    agi.expect(token_call.uniqueid, AgiScript(commands, hang=hang))
    return token_call


async def test_daemon_failures_still_place_the_call(ami: AmiClient, fake_agi: FakeAgi) -> None:
    # The scripts are registered right after the originate; the AGI starts later (dialplan first).
    cases = {
        # IVR_OUT_NUMBER with "&" would add a second channel to Dial(): refused, the dialled number is used.
        "injected-number": ("0701130001", ['SET VARIABLE IVR_OUT_NUMBER "0701130001&Local/x@caller-sim"',
                                           "SET VARIABLE IVR_OUT_RESULT dial"], False, {}),
        # Withheld was set, then the daemon died before IVR_OUT_RESULT: the phone's own caller ID comes back.
        "half-done": ("0701130002", ["SET VARIABLE CALLERID(num) +4640341000",
                                     "SET VARIABLE CALLERID(pres) prohib_not_screened"], False, {}),
        # The daemon never answers: the watchdog (2 s instead of 10) takes the call back.
        "hung": ("*8110701130003", [], True, {"IVR_OUT_WATCHDOG": "2"}),
    }
    calls = {}
    for name, (dialled, commands, hang, variables) in cases.items():
        calls[name] = await phone_dials(ami, fake_agi, "2999", dialled, commands, hang=hang, **variables)
    trunk = {name: await call.wait_event(20, Event="UserEvent", UserEvent="TrunkCall") for name, call in calls.items()}
    assert {name: (e.Number, e.CallerIDNum, e.CallerPres) for name, e in trunk.items()} == {
        "injected-number": ("0701130001", "2999", "allowed_not_screened"),
        "half-done": ("0701130002", "2999", "allowed_not_screened"),
        "hung": ("0701130003", "2999", "allowed_not_screened"),  # the purpose prefix is removed
    }
    for name, call in calls.items():
        assert call.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-outbound-fallback"), name
        assert len(call.events(lambda e: e.Event == "DialBegin" and "outbound-trunk" in (e.DestChannel or ""))) == 1
    assert calls["hung"].first(lambda e: e.Event == "Newexten" and e.Context == "ivr-outbound" and e.Exten == "T")


async def test_with_the_first_daemon_down_the_next_one_decides(ami: AmiClient, fake_agi: FakeAgi,
                                                              first_daemon_down: str) -> None:
    dead, live = first_daemon_down, f"127.0.0.1:{AGI_PORT}"
    call = await phone_dials(ami, fake_agi, "2999", "0701130004", [
        "SET VARIABLE CALLERID(num) +46403410000", "SET VARIABLE IVR_OUT_NUMBER 0701130004",
        "SET VARIABLE IVR_OUT_RESULT dial"])
    trunk = await call.wait_event(20, Event="UserEvent", UserEvent="TrunkCall")
    assert (trunk.Number, trunk.CallerIDNum) == ("0701130004", "+46403410000")  # the second daemon's decision
    route = "outbound,0701130004,2999,"  # dialled, the phone, no purpose
    assert agi_tries(call.events(), route) == [(f"agi://{dead}/{route}", "FAILURE"),
                                               (f"agi://{live}/{route}", "SUCCESS")]
    assert not call.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-outbound-fallback")


async def test_transfer_queue_is_checked_before_use(ami: AmiClient, fake_agi: FakeAgi) -> None:
    """A returning caller's fallback queue: a valid one is joined when the target is busy; one that
    carries Queue() options is refused and the caller goes to kc-general."""
    scripts = {
        "+46701130011": "kc-social",
        "+46701130012": '"kc-school,,,,1"',
    }
    calls = []
    for caller, queue in scripts.items():
        call = await ami.originate_caller(caller_id=caller, dtmf="", hold=20, variables={"__TRUNK_BUSY": "1"})
        fake_agi.expect(call.uniqueid, AgiScript(["ANSWER", "SET VARIABLE IVR_TARGET +4640342102",
                                                  f"SET VARIABLE IVR_TRANSFER_QUEUE {queue}",
                                                  "SET VARIABLE IVR_RESULT transfer"]))
        calls.append(call)
    valid, junk = await asyncio.gather(*[call.wait_event(20, Event="QueueCallerJoin") for call in calls])
    assert valid.Queue == "kc-social"
    assert junk.Queue == "kc-general"
    assert calls[1].first(lambda e: e.Event == "VarSet" and e.Variable == "IVR_FALLBACK_REASON"
                          and e.Value == "bad-queue")
    for call in calls:
        assert call.first(lambda e: e.Event == "UserEvent" and e.UserEvent == "TrunkCall"
                          and e.Number == "+4640342102")
