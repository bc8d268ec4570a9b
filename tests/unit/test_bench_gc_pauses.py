"""bench.gc_pauses' daemon preludes do what its table claims: the timed one writes one line per collection
(generation, milliseconds) as it happens, and the summary reads them back by generation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.gc_pauses import OFF, TIMED, pauses

REPO = Path(__file__).resolve().parents[2]


def test_the_timed_prelude_logs_each_collection_and_the_summary_counts_them(tmp_path: Path) -> None:
    log = tmp_path / "gc.txt"
    script = TIMED.format(path=str(log)) + "\nimport gc\ngc.collect(0)\ngc.collect(2)\ngc.collect(2)\n"
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)
    summary = pauses(log)
    assert summary["0"]["count"] >= 1
    assert summary["2"]["count"] >= 2
    assert all(figures["total_ms"] >= figures["max_ms"] >= 0 for figures in summary.values())


def test_the_off_prelude_switches_the_collector_off_after_the_daemons_own_tuning() -> None:
    script = OFF + "\nimport gc, ivr.daemon\nassert gc.isenabled()\nivr.daemon.tune_garbage_collector()\n" \
                   "assert not gc.isenabled(), 'still enabled'\n"
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)
