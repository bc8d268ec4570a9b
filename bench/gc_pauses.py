"""What the paced p99 at N calls held is made of: section 1's paced row, run twice on `ivr run` as shipped,
once with every collection of CPython's cyclic collector timed (gc.callbacks, written as they happen) and
once with the collector switched off after start-up (bench only: the daemon would then keep every cycle).
If the second row's p99 falls to near the floor's, the pauses are what the first row's callers waited on.

    .venv/bin/python -m bench.gc_pauses [--size 2000] [--work tmp/gc-pauses] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.agi_section import AgiPlan, AgiSection
from bench.benchconfig import write_bench_config
from bench.stats import percentile

# Runs in the daemon's process before `ivr run`: one line per collection, "generation milliseconds".
TIMED = """
import gc, time
_log = open({path!r}, "w", buffering=1)
_began = [0.0]
def _timed(phase, info):
    if phase == "start":
        _began[0] = time.perf_counter()
    else:
        _log.write(f"{{info['generation']}} {{(time.perf_counter() - _began[0]) * 1000:.3f}}\\n")
gc.callbacks.append(_timed)
"""
# After start-up (after the daemon's own tuning), no cyclic collection at all.
OFF = """
import gc
import ivr.daemon
_tune = ivr.daemon.tune_garbage_collector
def _tune_then_off():
    _tune()
    gc.disable()
ivr.daemon.tune_garbage_collector = _tune_then_off
"""


def pauses(path: Path) -> dict[str, Any]:
    by_generation: dict[str, list[float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        generation, ms = line.split()
        by_generation.setdefault(generation, []).append(float(ms))
    return {generation: {"count": len(values), "total_ms": round(sum(values), 1),
                         "max_ms": round(max(values), 1), "p50_ms": round(percentile(values, 0.5), 2)}
            for generation, values in sorted(by_generation.items())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000, help="calls held (default 2000)")
    parser.add_argument("--work", type=Path, default=Path("tmp/gc-pauses"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    section = AgiSection(AgiPlan(), write_bench_config(args.work / "config"), args.work)
    section.record_sequences()
    log = (args.work / "gc-pauses.txt").resolve()
    started = time.perf_counter()
    timed = section.run_daemon(args.size, "paced", prelude=TIMED.format(path=str(log)), note="gc timed")
    off = section.run_daemon(args.size, "paced", prelude=OFF, note="gc off")
    floor = section.run_floor(args.size, "paced")
    result = {"size": args.size, "pauses": pauses(log), "rows": [timed, off, floor],
              "seconds": round(time.perf_counter() - started, 1)}
    for row in result["rows"]:
        think = row["think_ms"]
        print(f"{row['target']:8} {row['note'] or '':9} N={row['n']} ok {row['ok']} failed {row['failed']} "
              f"think p50 {think['p50']} p99 {think['p99']} p99.9 {think['p999']} ms; "
              f"CPU {row['cpu_ms_per_call']} ms/call; {row['kb_per_concurrent_call']} KB per call")
    for generation, figures in result["pauses"].items():
        print(f"generation {generation} collections while timed: {figures}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
