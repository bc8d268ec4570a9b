"""`bench/run --smoke --only sip`: the load-over-SIP section (bench/sip_section.py) with two calls a
route, so that it cannot rot. Too slow for tests/unit/test_bench_smoke.py (the section starts its
own sandbox instance: about 40 s).

The section stops and restarts the sandbox instance it runs on, with the benchmark's configuration,
so it never uses this session's instance: it runs on IVR_BENCH_SANDBOX_INSTANCE, else on this
session's instance + 20 (ports move by 100 per instance, see scripts/asterisk-sandbox).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.bench_smoke import run_smoke_section

pytestmark = pytest.mark.real_daemon(started_by="bench/procs.py: the benchmark starts `ivr run` itself")

@pytest.fixture
def _asterisk_running() -> None:
    """Not this session's sandbox: the section runs its own instance (overrides the conftest's)."""


@pytest.mark.timeout(300)
def test_sip_section_sends_citizens_through_the_trunk_into_their_queues(tmp_path: Path) -> None:
    run = run_smoke_section("sip", tmp_path)
    instance = run.instance
    assert "### 5. Load over SIP" in run.stdout
    results = run.results
    sip = results["sip"]
    assert sip["instance"] == instance and sip["audio"] is True
    rows = {row["route"]: row for row in sip["rows"]}
    assert set(rows) == {"ivr run", "native dialplan"}
    for row in rows.values():
        # Every citizen reached the walk's queue over SIP, and SIPp saw every call through.
        assert row["calls"] == 2 and row["ok"] == 2, row
        assert row["sipp_successful"] == 2 and row["sipp_failed"] == 0, row
        assert row["asterisk_cpu_s"] > 0 and row["sipp_cpu_s"] > 0, row
        assert row["left_channels"] == 0, row
    assert rows["ivr run"]["daemon_menu_outcomes"] == {"queue": 2}, rows["ivr run"]
    assert rows["native dialplan"]["daemon_menu_outcomes"] == {}, rows["native dialplan"]
    assert sip["best"]["ivr run"]["rate"] == 1 and sip["best"]["native dialplan"]["rate"] == 1
    assert sip["idle"]["asterisk_pct_of_core"] >= 0
