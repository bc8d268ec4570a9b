"""`bench/run --smoke --only workers`: section 6 ("using both cores", bench/workers_section.py) with tiny
sizes, so that it cannot rot: one daemon and two, on a PostgreSQL schema of their own, through a FastAGI
burst and through the real Asterisk's menu (IVR_AGI_HOSTS listing both daemons). About 40 s.

Like test_bench_sip_smoke.py, the section stops and restarts the sandbox instance it runs on, so it runs
on IVR_BENCH_SANDBOX_INSTANCE, else on this session's instance + 20.
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
def test_two_daemons_share_the_calls_of_the_burst_and_of_the_real_asterisk(tmp_path: Path) -> None:
    run = run_smoke_section("workers", tmp_path)
    instance = run.instance
    assert "### 6. Using both cores: FastAGI burst" in run.stdout
    workers = run.results["workers"]

    burst = {(row["daemons"], row["store"]): row for row in workers["burst"]}
    assert set(burst) == {(1, "SQLite"), (1, "PostgreSQL"), (2, "PostgreSQL")}
    for row in burst.values():
        assert row["failed"] == 0 and row["ok"] == 30, row["failure_examples"]
    # The load generator alternated: both daemons worked; the PostgreSQL backends did the store's work.
    assert len(burst[2, "PostgreSQL"]["daemon_pct_of_core"]) == 2
    assert min(burst[2, "PostgreSQL"]["daemon_pct_of_core"]) > 0
    # The PostgreSQL rows measure its backends (a few ms of CPU in all for 30 calls: 0 at the clock's
    # tick is possible); SQLite has none to measure.
    assert burst[2, "PostgreSQL"]["store_ms_per_call"] is not None and burst[1, "SQLite"]["store_ms_per_call"] is None

    asterisk = workers["asterisk"]
    assert asterisk["instance"] == instance
    rows = {row["route"]: row for row in asterisk["rows"]}
    assert set(rows) == {"1 daemon", "2 daemons"}
    for route, row in rows.items():
        # Every call reached its walk's queue, and the daemons' menus finished exactly the calls placed
        # (which of the two took each is the dialplan's random pick).
        assert row["calls"] == 2 and row["ok"] == 2, row
        assert sum(asterisk["menus_per_daemon"][route]) == 2, asterisk["menus_per_daemon"]
    assert len(asterisk["menus_per_daemon"]["2 daemons"]) == 2
