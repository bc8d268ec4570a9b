"""A few seconds of bench/run (tiny sizes, no real Asterisk): every table comes out, with sane numbers.

The full suite is not part of the test run (it takes minutes); this keeps it from rotting.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_smoke_prints_every_table_with_zero_failures(tmp_path: Path) -> None:
    results_path = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench.suite", "--smoke", "--work", str(tmp_path / "work"),
                           "--json", str(results_path)], cwd=REPO, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for heading in ("### 1. FastAGI: throughput", "### 1. FastAGI: latency", "### 3. AMI ingestion",
                    "### 4. Config", "### Ratios (same run)", "### Targets"):
        assert heading in done.stdout, heading
    results = json.loads(results_path.read_text(encoding="utf-8"))
    assert results["smoke"] is True and "asterisk" not in results["sections"]

    agi_rows = results["agi"]["rows"]
    assert {row["target"] for row in agi_rows} >= {"ivr run", "floor", "classic pyst2"}
    for row in agi_rows:
        assert row["failed"] == 0, row["failure_examples"]
        assert row["ok"] > 0 and row["calls_per_s"] > 0 and row["cpu_ms_per_call"] > 0
        assert 0 < row["think_ms"]["p50"] <= row["think_ms"]["p99"] <= row["think_ms"]["max"]

    ami_rows = {row["mode"]: row for row in results["ami"]["rows"]}
    assert set(ami_rows) == {"floor", "framer", "daemon"}
    assert len({row["events"] for row in ami_rows.values()}) == 1  # every consumer saw the whole replay
    assert all(row["events_per_s"] > 0 for row in ami_rows.values())

    config_rows = {row["config"]: row for row in results["config"]["rows"]}
    assert config_rows["generated"]["check_s"] > 0 and config_rows["generated"]["reload_s"] > 0
    assert config_rows["shipped"]["first_prompt_ms"]["1"]["p50"] > 0

    ratios = [r for section in results["sections"] for r in results[section]["ratios"]]
    assert len(ratios) >= 8
    assert all(r["value"] is not None and r["value"] > 0 for r in ratios), ratios
    assert any(t["target"].startswith("zero failed calls") and t["met"] for t in results["targets"])
