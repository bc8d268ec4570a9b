"""Overload on the real Asterisk: beyond IVR_MAX_SESSIONS running menus, a new call goes straight
to the dialplan's fallback (apology, then kc-general) instead of slowing every caller down; the
calls already in the menu carry on untouched, and once they are done the daemon takes calls again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall
from harness.citizens import Citizens
from harness.daemon import DaemonProcess
from harness.faults import QUICK_KEYS, eventually, quick_config

pytestmark = pytest.mark.real_daemon


async def in_menu(call: SimCall) -> None:
    await call.wait_for(lambda e: e.Event == "AGIExecStart" and "silence/10" in (e.Command or ""), 15,
                        what="the menu prompt")


async def test_calls_beyond_the_limit_take_the_fallback_at_once(
        citizens: Citizens, ami: AmiClient, tmp_path: Path) -> None:
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                           env={"IVR_MAX_SESSIONS": "2"})
    await daemon.start()
    try:
        # Two callers take their time in the menu; they press their key 6 s in.
        busy = [await citizens.call(dtmf="w" * 12 + QUICK_KEYS[q], hold=40, caller_id=f"+4670222000{i}")
                for i, q in enumerate(("kc-school", "kc-streets"))]
        await asyncio.gather(*(in_menu(c) for c in busy))
        started = time.monotonic()
        extra = [await citizens.call(dtmf=QUICK_KEYS["kc-school"], hold=40, caller_id=f"+4670222001{i}")
                 for i in range(3)]
        extra_joins = await asyncio.gather(*(c.wait_event(15, Event="QueueCallerJoin") for c in extra))
        fallback_s = time.monotonic() - started
        busy_joins = await asyncio.gather(*(c.wait_event(20, Event="QueueCallerJoin") for c in busy))

        after = await citizens.call(dtmf=QUICK_KEYS["kc-building"], hold=20)
        after_join = await after.wait_event(15, Event="QueueCallerJoin")
        overloaded = await eventually(
            lambda: [line for line in daemon.log_lines() if line.get("event") == "agi.overloaded"], 5,
            "the overload logged")
    finally:
        await daemon.stop()
    for call, join in zip(extra, extra_joins, strict=True):
        assert join.Queue == "kc-general"  # by the fallback, not by the menu (which would say kc-school)
        assert call.first(lambda e: e.Event == "VarSet" and e.Variable == "IVR_OVERLOAD" and e.Value == "1")
        assert call.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-fallback")
    assert fallback_s < 12  # the apology (about 6 s) and the queue: no waiting for a free menu
    assert [j.Queue for j in busy_joins] == ["kc-school", "kc-streets"]  # the running menus were untouched
    for call in busy:
        assert not call.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-fallback")
    assert after_join.Queue == "kc-building"
    assert {line["uniqueid"] for line in overloaded} == {c.uniqueid for c in extra}
    assert not [line for line in daemon.log_lines() if line.get("event") == "menu finished"
                and line.get("uniqueid") in {c.uniqueid for c in extra}]
