"""The soak (scripts/soak, 10 minutes by default) as a 20-second smoke on the real Asterisk: every
call goes as it should, file descriptors come back, and memory grows by less than a few MiB. Twenty
seconds are too short to judge the RSS slope per call (harness/soak.py says so in its report); that
criterion is scripts/soak's, and `scripts/soak --minutes 6 --rate 2 --leak-bytes-per-call 10240`
shows it failing on a 10 KB-a-call leak (docs/reliability.md; tests/unit/test_soak_criterion.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.sandbox import Sandbox
from harness.soak import MIX, run_soak

pytestmark = pytest.mark.real_daemon


async def test_twenty_seconds_of_calls(asterisk: Sandbox, tmp_path: Path) -> None:
    quick = [kind for kind in MIX if kind.name != "no key"]  # the 15 s menu timeout would outlast the run
    report = await run_soak(20, tmp_path, rate=1.0, mix=quick, drain_s=30)
    print(report.text())
    assert report.placed >= 19 and report.failed == 0 and report.completed == report.placed, report.text()
    assert set(report.by_kind) == {kind.name for kind in quick}
    assert report.memory_ok, report.text()
    assert report.fds_end <= report.fds_start + 2, report.text()
    assert report.log_errors == 0, report.text()
