"""Callers' numbers and hostile caller IDs through the real Asterisk and the real daemon.

Real calls, from ordinary numbers and from caller IDs built to break things (SQL, paths, MQTT
wildcards, a line break, 200 digits, bytes that are not UTF-8), with the MQTT publisher on a
private broker: every call is served; afterwards the daemon's log, its database files and every
MQTT topic and payload are searched for the numbers, in every form they could be written in.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall, new_token
from harness.daemon import DaemonProcess
from harness.faults import QUICK_KEYS, BusCapture, call_records, quick_config

pytestmark = pytest.mark.real_daemon

TALK = {"__AGENT_TALK": "1", "__AGENT_ANSWER_DELAY": "0"}
# Caller ID -> keys. Asterisk drops spaces, dots and dashes from a number, so these are what the
# daemon sees in agi_callerid (e.g. "';DROPTABLEcall_records;").
CALLERS = {
    "+46701234567": QUICK_KEYS["kc-building"],  # answered by an agent (the others end sooner)
    "0709876543": QUICK_KEYS["goodbye"],
    "+46 70 555 12 34": QUICK_KEYS["goodbye"],
    "'; DROP TABLE call_records;--": QUICK_KEYS["kc-streets"],
    "../../etc/passwd": QUICK_KEYS["goodbye"],
    "+/#": QUICK_KEYS["goodbye"],
    "$SYS/broker": QUICK_KEYS["goodbye"],
    "+4670\\n200 result=1": QUICK_KEYS["goodbye"],
    "9" * 200: QUICK_KEYS["goodbye"],
}
RAW_CALLER = b"\xff\xfe+46\xe5701112233"  # Latin-1 junk around a number
# Every form a number of ours could take in a file or a message.
DIGITS = ["46701234567", "701234567", "0709876543", "709876543", "46705551234", "705551234", "701112233",
          "9" * 12]




async def originate_raw_caller(ami: AmiClient, caller: bytes, dtmf: str) -> SimCall:
    """originate_caller with a CallerID of raw bytes (the harness only sends UTF-8 text)."""
    token = new_token()
    call = SimCall(ami=ami, token=token, uniqueid=SimCall.uniqueid_for(token), far_uniqueid=f"sim-{token}-2",
                   caller_id="(raw bytes)", exten="4034100", context="main-number", since=ami.recorder.mark())
    action = (f"Action: Originate\r\nChannel: Local/s@caller-sim/n\r\nContext: main-number\r\nExten: 4034100\r\n"
              f"Priority: 1\r\nAsync: true\r\nChannelId: {call.uniqueid}\r\nOtherChannelId: {call.far_uniqueid}\r\n"
              f"Variable: SIM_DTMF={dtmf}\r\nVariable: SIM_FIRST_WAIT=1\r\nVariable: SIM_HOLD=5\r\n").encode()
    ami._writer.write(action + b'CallerID: "\xe5\xe4\xf6" <' + caller + b">\r\n\r\n")
    await ami._writer.drain()
    return call


async def test_numbers_stay_out_of_logs_records_and_events(ami: AmiClient, bus: BusCapture, tmp_path: Path) -> None:
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                           env={"IVR_MQTT_HOST": "127.0.0.1", "IVR_MQTT_PORT": str(bus.port),
                                "IVR_LOG_LEVEL": "debug", "IVR_QUEUE_SNAPSHOT_S": "1"})
    await daemon.start()
    try:
        # The first caller waits long enough for an agent still in wrap-up after an earlier test.
        calls = [await ami.originate_caller(caller_id=caller, dtmf=keys, hold=30 if i == 0 else 5, variables=TALK)
                 for i, (caller, keys) in enumerate(CALLERS.items())]
        calls.append(await originate_raw_caller(ami, RAW_CALLER, QUICK_KEYS["goodbye"]))
        results = await asyncio.gather(*(c.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT",
                                                    15, what="IVR_RESULT") for c in calls))
        await asyncio.gather(*(c.wait_hangup(40) for c in calls))
        for call in calls:
            await bus.wait_event(call.uniqueid, "call_ended", 15)
    finally:
        await daemon.stop()
    expected = ["queue" if keys != QUICK_KEYS["goodbye"] else "hangup" for keys in CALLERS.values()] + ["hangup"]
    assert [r.Value for r in results] == expected  # every caller served by the menu, none by the fallback
    records = call_records(f"sqlite:///{daemon.state_dir / 'ivr.db'}")
    assert {c.uniqueid for c in calls} <= set(records)  # the table survived its would-be dropper
    assert all(re.fullmatch(r"[0-9a-f]{12}", str(records[c.uniqueid]["caller_ref"])) for c in calls)
    assert [records[c.uniqueid]["outcome"] for c in calls[:1]] == ["answered"]

    log = daemon.log_text()
    stored = b"".join(p.read_bytes() for p in daemon.state_dir.iterdir() if p.name.startswith(("ivr.db", "records")))
    payloads = b"\n".join(m.payload for m in bus.messages)
    topics = [m.topic for m in bus.messages]
    assert b"kc-building" in stored and b"kc-building" in payloads and "+467******67" in log  # they were looked at
    for digits in DIGITS:
        assert digits not in log, digits
        assert digits.encode() not in stored, digits
        assert digits.encode() not in payloads and not any(digits in t for t in topics), digits
    for fragment in ("DROPTABLE", "etc/passwd", "$SYS", "result=1"):
        assert fragment not in log and fragment.encode() not in stored and fragment.encode() not in payloads
    assert all(re.fullmatch(r"ivr/[A-Za-z0-9_-]+(/[^/+#$\x00-\x1f][^/+#\x00-\x1f]*)+", t) for t in topics), topics
    bad = {"agi.bad_headers", "agi.handler_failed", "agi.connection_failed", "mqtt.event_not_encodable",
           "mqtt.message_refused", "event sink failed"}
    assert not [line for line in daemon.log_lines() if line.get("event") in bad]
