"""bench/run's verdicts: the instruction guard against its baseline, and targets read from shipped rows only
(never from a what-if row). The measurement itself runs in scripts/test (`bench/run --guard`)."""

from __future__ import annotations

from typing import Any

from bench.instructions import regression
from bench.suite import agi_targets, main

BASELINE = {"commit": "abc1234", "daemon_per_call": 1_000_000, "floor_per_call": 200_000, "margin": 0.1}


def test_the_guard_passes_within_the_margin_and_fails_above_it() -> None:
    assert regression({"daemon_per_call": 1_099_000}, BASELINE)["met"] is True
    missed = regression({"daemon_per_call": 1_132_000}, BASELINE)
    assert missed["met"] is False and "+13.2%" in missed["value"]


def _row(target: str, mode: str, n: int, *, note: str = "", calls_per_s: float = 100.0, cpu: float = 1.0,
         p99: float = 1.0, failed: int = 0) -> dict[str, Any]:
    percentiles = {"p50": 0.1, "p99": p99, "p999": p99, "max": p99}
    return {"target": target, "mode": mode, "n": n, "note": note, "calls_per_s": calls_per_s, "ok": 10,
            "cpu_ms_per_call": cpu, "failed": failed, "peak_in_flight": n, "kb_per_concurrent_call": 20.0,
            "think_ms": percentiles, "e2e_ms": percentiles, "first_prompt_ms": percentiles, "peak_rss_mb": 50.0,
            "loadgen_cpu_share": 0.5}


def test_a_what_if_row_never_decides_a_verdict() -> None:
    rows = [_row("ivr run", "burst", 100, calls_per_s=50, cpu=3.0),
            _row("ivr run", "burst", 100, note="uvloop", calls_per_s=99, cpu=1.0, failed=7),
            _row("floor", "burst", 100, calls_per_s=100, cpu=1.0),
            _row("ivr run", "paced", 100, p99=30.0), _row("ivr run", "paced", 100, note="GC tuned", p99=1.0),
            _row("floor", "paced", 100), _row("classic pyst2", "burst", 100, calls_per_s=2)]
    verdicts = {v["target"]: v for v in agi_targets({"rows": rows})}
    assert verdicts["CPU per call ≤ 1.7 × floor, burst N=100"]["met"] is False
    assert verdicts["throughput ≥ 0.6 × floor, burst N=100"]["met"] is False
    assert verdicts["calls/s ≥ 20 × pyst2 process-per-call, N=100"]["met"] is True  # 50 / 2
    assert verdicts["paced, 100 calls held: think p99 ≤ 10 ms"]["met"] is False
    assert verdicts["zero failed calls in every shipped FastAGI row"]["met"] is True  # uvloop's 7 not counted


def test_check_exits_non_zero_when_a_target_is_missed(monkeypatch: Any, tmp_path: Any) -> None:
    shipped = {"rows": [_row("ivr run", "burst", 100, failed=1), _row("floor", "burst", 100)], "ratios": []}
    monkeypatch.setattr("bench.agi_section.AgiSection.run", lambda self, progress: shipped)
    assert main(["--only", "agi", "--work", str(tmp_path / "w")]) == 0
    assert main(["--only", "agi", "--check", "--work", str(tmp_path / "w")]) == 1
