"""Asterisk restarted under the running daemon (scripts/asterisk-sandbox restart of this instance).

The call in the menu at that moment dies with Asterisk (nothing can keep it); the daemon must see
its session end cleanly, reconnect to AMI with backoff, re-synchronise its queue view, stay up,
and run the next call through the menu as if nothing had happened.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harness.ami import AmiClient
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import OPEN_HOURS, DaemonProcess
from harness.faults import QUICK_KEYS, eventually, quick_config
from harness.sandbox import Sandbox

pytestmark = pytest.mark.real_daemon


async def test_asterisk_restart_daemon_reconnects_and_serves_the_next_call(asterisk: Sandbox,
                                                                           tmp_path: Path) -> None:
    daemon = DaemonProcess(test_clock=OPEN_HOURS,
                           state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"))
    await daemon.start()
    doomed: CitizenHandle | None = None
    try:
        async with await AmiClient.connect() as ami:
            doomed = await Citizens(ami, tmp_path / "sipp").call(dtmf="", hold=60)
            await doomed.wait_for(lambda e: e.Event == "AGIExecStart" and "silence/10" in (e.Command or ""), 15)
            mark = daemon.log_path.stat().st_size
            restart = await asyncio.to_thread(asterisk.run, "restart")
            assert restart.returncode == 0, restart.stdout + restart.stderr

        def reconnect_lines() -> list[dict[str, object]]:
            return [line for line in daemon.log_lines(since=mark) if str(line.get("event", "")).startswith("ami.")
                    or line.get("event") == "queues re-synchronised"]

        await eventually(lambda: any(line.get("event") == "queues re-synchronised" for line in reconnect_lines()),
                         30, "the daemon logged in again and re-read QueueStatus")
        events = [str(line["event"]) for line in reconnect_lines()]
        assert events.index("ami.disconnected") < events.index("ami.reconnected")
        delays = [float(str(line["retry_in"])) for line in reconnect_lines()
                  if line["event"] == "ami.reconnect_failed"]
        assert delays == sorted(delays)  # backoff: never faster than the attempt before
        assert daemon.proc is not None and daemon.proc.poll() is None

        async with await AmiClient.connect() as ami:
            citizens = Citizens(ami, tmp_path / "sipp")
            call = await citizens.call(dtmf=QUICK_KEYS["kc-streets"], hold=15)
            joined = await call.wait_event(20, Event="QueueCallerJoin")
            assert joined.Queue == "kc-streets"
            finished = await eventually(
                lambda: [line for line in daemon.log_lines(since=mark)
                         if line.get("event") == "menu finished" and line.get("uniqueid") == call.uniqueid],
                5, "the daemon ran the new call's menu")
            assert finished[0]["queue"] == "kc-streets"
            await citizens.close()
    finally:
        if doomed is not None:
            doomed.kill()  # a SIP citizen's call died with Asterisk: its SIPp never heard a BYE
        await daemon.stop()
    after = daemon.log_lines(since=mark)
    assert not [line for line in after if line.get("event") in ("agi.handler_failed", "agi.connection_failed")]
    # The call that died with Asterisk ended as a hang-up in the menu, not as an error.
    ends = [line for line in after if line.get("event") == "menu finished" and line.get("uniqueid") == doomed.uniqueid]
    assert [line["outcome"] for line in ends] == ["abandoned"]
