"""Outbound calls on the real Asterisk with the real daemon: an official's (or agent's) phone is a Local
channel originated into its context with the phone's extension as caller; the simulated trunk's
UserEvent TrunkCall shows what the citizen's phone would show."""

from __future__ import annotations

import asyncio

from harness.ami import AmiClient, AmiMessage, SimCall
from harness.daemon import DaemonProcess

# (name, phone context, extension, dialled, number the trunk gets, CallerIDNum, CallerPres)
POLICIES = [
    ("direct-line", "officials-outbound", "2101", "0701110001", "0701110001", "+4640342101", "allowed_not_screened"),
    ("department-number", "officials-outbound", "2101", "*8110701110002", "0701110002", "+4640343000",
     "allowed_not_screened"),
    ("main-number", "officials-outbound", "2102", "*810+46701110003", "+46701110003", "+4640341000",
     "allowed_not_screened"),
    ("withheld", "officials-outbound", "2104", "0701110004", "0701110004", "+4640341000", "prohib_not_screened"),
    ("agent-main-number", "agent-phones", "1001", "0701110005", "0701110005", "+4640341000", "allowed_not_screened"),
]


async def place(ami: AmiClient, context: str, extension: str, dialled: str, **variables: str) -> SimCall:
    """The official's phone dials: the far half of the Local channel is the phone (answers, stays on)."""
    return await ami.originate_caller(exten=dialled, context=context, caller_id=extension, caller_name="Phone",
                                      dtmf="", first_wait=0, hold=15, variables=variables)


async def trunk_call(call: SimCall, timeout: float = 20) -> AmiMessage:
    return await call.wait_event(timeout, Event="UserEvent", UserEvent="TrunkCall")


def sqlite_bytes(daemon: DaemonProcess) -> bytes:
    return b"".join(path.read_bytes() for path in daemon.state_dir.iterdir() if path.name.startswith("ivr.db"))


async def test_the_far_end_sees_what_the_policy_chose(ami: AmiClient, daemon: DaemonProcess) -> None:
    calls = await asyncio.gather(*[place(ami, context, extension, dialled)
                                   for _, context, extension, dialled, *_ in POLICIES])
    trunk = await asyncio.gather(*[trunk_call(call) for call in calls])
    for event, (name, _, _, _, number, shown, presentation) in zip(trunk, POLICIES, strict=True):
        assert (event.Number, event.CallerIDNum, event.CallerPres) == (number, shown, presentation), name
    for call, (name, *_) in zip(calls, POLICIES, strict=True):
        decided = await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_OUT_RESULT" and
                                      e.Value == "dial", 5)
        assert decided is not None, name
        assert not call.events(lambda e: e.Event == "Newexten" and e.Context == "ivr-outbound-fallback"), name
    # The far end answers; the hangup handlers report how the registered dials ended.
    await asyncio.gather(*[call.wait_hangup(30) for call in calls])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        ended = [line for line in daemon.log_lines() if line.get("event") == "outbound call ended"]
        if len(ended) == 3:  # department number, main number (official), main number (agent)
            break
        await asyncio.sleep(0.2)
    assert sorted(line["outcome"] for line in ended) == ["answered"] * 3
    decided_lines = [line for line in daemon.log_lines() if line.get("event") == "outbound caller ID decided"]
    assert sorted(line["shown"] for line in decided_lines) == sorted(
        ["direct_line", "department_number", "main_number", "withheld", "main_number"])
    # Neither the registry (SQLite file and its WAL) nor the daemon's log holds a citizen's number.
    raw, log = sqlite_bytes(daemon), daemon.log_text()
    assert b"contact_attempts" in raw
    for index in range(1, 6):
        assert f"70111000{index}".encode() not in raw
        assert f"70111000{index}" not in log


async def test_daemon_down_shows_the_boards_default_never_a_failed_call(ami: AmiClient,
                                                                        daemon: DaemonProcess) -> None:
    # The board's defaults come from [ivr-callerid-table] (extensions_callerid.conf, generated from
    # the YAML): nothing the daemon writes at run time.
    await daemon.stop()
    cases = [("2101", "*8110701110011", "0701110011", "+4640342101", "allowed_not_screened"),  # no department no.
             ("2104", "0701110012", "0701110012", "+4640341000", "prohib_not_screened"),  # still withheld
             ("2999", "0701110013", "0701110013", "2999", "allowed_not_screened")]  # unknown: its own caller ID
    calls = await asyncio.gather(*[place(ami, "officials-outbound", extension, dialled)
                                   for extension, dialled, *_ in cases])
    trunk = await asyncio.gather(*[trunk_call(call) for call in calls])
    for event, call, (extension, _, number, shown, presentation) in zip(trunk, calls, cases, strict=True):
        assert (event.Number, event.CallerIDNum, event.CallerPres) == (number, shown, presentation), extension
        assert call.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-outbound-fallback"), extension
        from_table = call.events(lambda e: e.Event == "Newexten" and e.Context == "ivr-callerid-table")
        assert bool(from_table) == (extension != "2999"), extension
        assert call.first(lambda e: e.Event == "VarSet" and e.Variable == "AGISTATUS" and e.Value == "FAILURE")


async def test_emergency_calls_skip_the_daemon(ami: AmiClient, daemon: DaemonProcess) -> None:
    call = await place(ami, "officials-outbound", "2101", "112")
    event = await trunk_call(call)
    assert (event.Number, event.CallerIDNum) == ("112", "+4640342101")  # the official can be called back
    assert not call.events(lambda e: e.Event == "Newexten" and e.Application == "AGI")
