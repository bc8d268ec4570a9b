"""Section 0: instructions per call and per AGI command, the daemon against the floor, counted by callgrind.

Wall-clock figures move with the machine's load; instruction counts do not, so this is the number that
guards against regressions (`bench/run --only instructions --check`, baseline in
bench/data/instructions_baseline.json). Each server runs under `valgrind --tool=callgrind` with
instrumentation off while it starts (importing the daemon under full instrumentation takes minutes);
after one warm-up call per walk, `callgrind_control -i on` turns it on, the load generator places a fixed
set of calls (the three walks in turn, a few at a time, Asterisk answering at once), and
`callgrind_control -d` dumps the count. Everything the process does in that window is counted: the
event loop, the socket calls' user-space side, logging, records, the wallboard's share of events.
"""

from __future__ import annotations

import asyncio
import json
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import REPO, DaemonUnderTest, FloorUnderTest, ServerProcess, run_loadgen
from bench.walks import MAIN_DNID, WALKS, record_sequences

BASELINE = REPO / "bench" / "data" / "instructions_baseline.json"
# A regression is a rise of more than this over the committed baseline (the count moves by ~1-2 %
# between runs: a GC pass or an event-loop iteration more or less in the window).
DEFAULT_MARGIN = 0.10
# Bench-only fault (`--inject-work N`): every call also sums N squares, to prove that the check fails.
INJECTED_WORK = """
import ivr.daemon
_bind_route = ivr.daemon.bind_route
def _bind_route_with_work(app, entry, leak=None):
    route = _bind_route(app, entry, leak)
    async def with_work(session):
        sum(i * i for i in range({work}))
        await route(session)
    return with_work
ivr.daemon.bind_route = _bind_route_with_work
"""


@dataclass(frozen=True)
class InstructionPlan:
    calls: int = 30  # a multiple of the three walks
    concurrency: int = 4
    inject_work: int = 0  # > 0: the bench-only fault above (never for a measurement to keep)
    floor: bool = True  # False: the daemon only (the regression guard needs no floor)


def callgrind_available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def valgrind_prefix(out_prefix: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_prefix}.%p"]


def _control(pid: int, flag: str, *more: str) -> None:
    subprocess.run(["callgrind_control", flag, *more, str(pid)], check=True, capture_output=True, timeout=60,
                   stdin=subprocess.DEVNULL)


def _dumped_total(out_prefix: Path, pid: int) -> int:
    """The instruction count of the dump callgrind_control -d wrote (its `totals:` line)."""
    dumps = sorted(out_prefix.parent.glob(f"{out_prefix.name}.{pid}.*"), key=lambda p: p.stat().st_mtime)
    if not dumps:
        raise RuntimeError(f"no callgrind dump for {pid} beside {out_prefix}")
    for line in dumps[-1].read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dumps[-1]}")


def _measure(server: ServerProcess, port: int, out_prefix: Path, plan: InstructionPlan, work: Path) -> dict[str, Any]:
    asyncio.run(record_sequences(port))  # warm-up: one call per walk, not counted
    _control(server.pid, "-i", "on")
    spec = {"port": port, "concurrency": plan.concurrency, "calls": plan.calls,
            "walks": [walk.as_dict() for walk in WALKS], "dnid": MAIN_DNID, "call_timeout_s": 300.0}
    result = run_loadgen(spec, work, timeout=900.0)
    _control(server.pid, "-d")
    total = _dumped_total(out_prefix, server.pid)
    if result["calls_failed"] or result["calls_ok"] != plan.calls:
        raise RuntimeError(f"calls failed under callgrind: {result['failures']} {result['failure_examples']}")
    return {"instructions": total, "calls": result["calls_ok"], "commands": result["commands"],
            "per_call": round(total / result["calls_ok"]), "per_command": round(total / result["commands"])}


def run(plan: InstructionPlan, config: Path, work: Path, progress: Any = print) -> dict[str, Any]:
    if not callgrind_available():
        raise RuntimeError("valgrind (callgrind) is not installed: scripts/setup installs it")
    started = time.perf_counter()
    prefix = work / "callgrind"
    prelude = INJECTED_WORK.format(work=plan.inject_work) if plan.inject_work else ""
    sequences_path = work / "sequences.json"
    sequences_path.unlink(missing_ok=True)
    # Both start at once (start-up under valgrind is the slow part); the floor listens once the
    # daemon's command lines are recorded.
    floor = FloorUnderTest(sequences_path, work, wrapper=valgrind_prefix(prefix), start_timeout=600.0)
    if plan.floor:
        floor.launch()
    daemon = DaemonUnderTest(config, work / "state", str(work / "daemon.log"), prelude=prelude,
                             wrapper=valgrind_prefix(prefix), start_timeout=600.0)
    try:
        daemon.start()
        progress(f"  ivr run listening under callgrind ({time.perf_counter() - started:.0f} s)")
        try:
            sequences = asyncio.run(record_sequences(daemon.port))
            sequences_path.write_text(json.dumps(sequences), encoding="utf-8")
            daemon_row = _measure(daemon, daemon.port, prefix, plan, work)
        finally:
            daemon.stop()
        progress(f"  ivr run  {daemon_row['per_call']:,} instructions a call ({time.perf_counter() - started:.0f} s)")
        rows = [{"server": "ivr run" + (f" (+{plan.inject_work} work a call)" if plan.inject_work else ""),
                 **daemon_row}]
        result: dict[str, Any] = {"rows": rows, "calls": plan.calls, "concurrency": plan.concurrency,
                                  "inject_work": plan.inject_work, "daemon_per_call": daemon_row["per_call"],
                                  "floor_per_call": None, "ratios": []}
        if plan.floor:
            floor.wait_ready()
            floor_row = _measure(floor, floor.port, prefix, plan, work)
            progress(f"  floor    {floor_row['per_call']:,} instructions a call "
                     f"({time.perf_counter() - started:.0f} s)")
            rows.append({"server": "floor", **floor_row})
            result["floor_per_call"] = floor_row["per_call"]
            result["ratios"] = [
                {"what": "instructions per call ivr run / floor",
                 "value": round(daemon_row["per_call"] / floor_row["per_call"], 3)},
                {"what": "instructions per AGI command ivr run / floor",
                 "value": round(daemon_row["per_command"] / floor_row["per_command"], 3)}]
    finally:
        if plan.floor:
            floor.stop()
    return result


def load_baseline(path: Path = BASELINE) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write_baseline(result: dict[str, Any], commit: str, path: Path = BASELINE) -> None:
    path.write_text(json.dumps({
        "commit": commit, "python": platform.python_version(), "calls": result["calls"],
        "concurrency": result["concurrency"],
        "daemon_per_call": result["daemon_per_call"], "floor_per_call": result["floor_per_call"],
        "margin": DEFAULT_MARGIN,
    }, indent=1) + "\n", encoding="utf-8")


def regression(result: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """The guard: instructions per call of the daemon against the committed baseline."""
    limit = baseline["daemon_per_call"] * (1 + baseline.get("margin", DEFAULT_MARGIN))
    growth = result["daemon_per_call"] / baseline["daemon_per_call"] - 1
    return {"target": f"instructions per call ≤ baseline + {baseline.get('margin', DEFAULT_MARGIN):.0%} "
                      f"({baseline['daemon_per_call']:,} at {baseline['commit']})",
            "value": f"{result['daemon_per_call']:,} ({growth:+.1%})", "met": result["daemon_per_call"] <= limit}
