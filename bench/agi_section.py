"""Section 1: FastAGI throughput and latency of `ivr run`, against the floor and the classic process per call.

Every row starts its server afresh (so peak RSS belongs to that row) and runs one load generator:
- burst: Asterisk answers every command at once and each of the N callers starts its next call as soon
  as the last one ends, so the server is saturated; this gives calls per second and CPU per call.
- paced: Asterisk takes the time a prompt plays and a caller takes to press a key (±50 %), and N
  callers stay on the line at once; this gives the think time a caller waits with N calls in progress,
  and the memory each concurrent call costs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import PYTHON, REPO, DaemonUnderTest, FloorUnderTest, run_loadgen
from bench.stats import ProcSample, ratio
from bench.walks import MAIN_DNID, WALKS, record_sequences

CLASSIC_SCRIPT = REPO / "bench" / "classic_agi.py"
# What-if (bench only, not in the daemon): freeze the start-up heap once the daemon runs, and collect the
# youngest generation less often, so that full collections neither pause long nor come often.
GC_TUNED = """
import gc
import ivr.daemon
_start = ivr.daemon.Daemon.start
async def _start_then_freeze(self):
    await _start(self)
    gc.freeze()
ivr.daemon.Daemon.start = _start_then_freeze
gc.set_threshold(10000, 10, 10)
"""


@dataclass(frozen=True)
class AgiPlan:
    sizes: tuple[int, ...] = (100, 500, 2000)
    burst_calls_per_caller: int = 3
    burst_min_calls: int = 2000
    pace: dict[str, float] = field(default_factory=lambda: {"play_s": 0.5, "key_s": 1.0})
    paced_duration_s: float = 8.0
    paced_ramp_s: float = 5.0  # about one call's length: callers arrive at the rate they leave
    classic_sizes: tuple[int, ...] = (100,)
    classic_calls: int = 300
    logging_size: int = 2000  # where the log file vs /dev/null pair runs
    what_if_size: int = 0  # > 0: what-if rows at this N (uvloop; GC tuned), not counted in the targets

    def burst_calls(self, size: int) -> int:
        return max(size * self.burst_calls_per_caller, self.burst_min_calls)


def warm_up(port: int) -> None:
    """One call per walk before measuring, so that lazy start-up work (the records database, first imports)
    is not counted as the load's; it also checks the server walks every path to its queue."""
    asyncio.run(record_sequences(port))


def _row(target: str, mode: str, size: int, result: dict[str, Any], before: ProcSample | None,
         after: ProcSample | None, note: str = "") -> dict[str, Any]:
    ok = max(result["calls_ok"], 1)
    if before is not None and after is not None:
        cpu_ms = (after.cpu_s - before.cpu_s) / ok * 1000
        peak_mb = after.hwm_kb / 1024
        per_call_kb = max(after.hwm_kb - before.rss_kb, 0) / max(result["peak_in_flight"], 1)
    else:  # classic: the cost is in the per-call processes
        cpu_ms = result["children_cpu_s"] / ok * 1000
        peak_mb = result["children_maxrss_kb"] / 1024
        per_call_kb = float(result["children_maxrss_kb"])
    return {
        "target": target, "mode": mode, "n": size, "note": note,
        "ok": result["calls_ok"], "failed": result["calls_failed"], "failures": result["failures"],
        "failure_examples": result["failure_examples"],
        "calls_per_s": result["calls_per_s"], "think_ms": result["think_ms"], "e2e_ms": result["e2e_ms"],
        "first_prompt_ms": result["first_prompt_ms"], "cpu_ms_per_call": round(cpu_ms, 3),
        "peak_rss_mb": round(peak_mb, 1), "kb_per_concurrent_call": round(per_call_kb, 1),
        "peak_in_flight": result["peak_in_flight"],
        "loadgen_cpu_share": round(result["loadgen_cpu_s"] / max(result["wall_s"], 1e-9), 2),
    }


class AgiSection:
    def __init__(self, plan: AgiPlan, config: Path, work: Path) -> None:
        self.plan = plan
        self.config = config
        self.work = work
        self.walks = [walk.as_dict() for walk in WALKS]
        self.sequences = work / "sequences.json"

    def _spec(self, port: int, size: int, mode: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"port": port, "concurrency": size, "walks": self.walks, "dnid": MAIN_DNID}
        if mode == "burst":
            spec["calls"] = self.plan.burst_calls(size)
        else:
            spec.update(duration_s=self.plan.paced_duration_s, ramp_s=self.plan.paced_ramp_s, pace=self.plan.pace)
        return spec

    def _daemon(self, name: str, log: str, prelude: str = "") -> DaemonUnderTest:
        return DaemonUnderTest(self.config, self.work / f"state-{name}", log, prelude=prelude)

    def record_sequences(self) -> dict[str, list[str]]:
        """What the daemon sends for each walk: the floor sends exactly that."""
        daemon = self._daemon("record", str(self.work / "daemon-record.log"))
        daemon.start()
        try:
            sequences = asyncio.run(record_sequences(daemon.port))
        finally:
            daemon.stop()
        self.sequences.write_text(json.dumps(sequences, indent=1), encoding="utf-8")
        return sequences

    def run_daemon(self, size: int, mode: str, *, log: str = "file", prelude: str = "",
                   note: str = "") -> dict[str, Any]:
        name = f"{mode}-{size}-{log}{'-' + note if note else ''}".replace(" ", "_")
        log_path = str(self.work / f"daemon-{name}.log") if log == "file" else "/dev/null"
        daemon = self._daemon(name, log_path, prelude)
        daemon.start()
        try:
            warm_up(daemon.port)
            before = daemon.sample()
            result = run_loadgen(self._spec(daemon.port, size, mode), self.work)
            after = daemon.sample()
        finally:
            daemon.stop()
        target = "ivr run" + ("" if log == "file" else " (log to /dev/null)")
        return _row(target, mode, size, result, before, after, note)

    def run_floor(self, size: int, mode: str) -> dict[str, Any]:
        floor = FloorUnderTest(self.sequences, self.work)
        floor.start()
        try:
            warm_up(floor.port)
            before = floor.sample()
            result = run_loadgen(self._spec(floor.port, size, mode), self.work)
            after = floor.sample()
        finally:
            floor.stop()
        return _row("floor", mode, size, result, before, after)

    def run_classic(self, size: int) -> dict[str, Any]:
        spec: dict[str, Any] = {"target": "spawn", "command": [PYTHON, str(CLASSIC_SCRIPT)], "concurrency": size,
                                "calls": self.plan.classic_calls, "walks": self.walks, "dnid": MAIN_DNID}
        result = run_loadgen(spec, self.work)
        return _row("classic pyst2", "burst", size, result, None, None)

    def run(self, progress: Any = print) -> dict[str, Any]:
        self.record_sequences()
        rows: list[dict[str, Any]] = []

        def add(row: dict[str, Any]) -> None:
            rows.append(row)
            progress(f"  {row['target']:<28} {row['mode']:<6} N={row['n']:<5} {row['calls_per_s']:>8} calls/s  "
                     f"p99 {row['think_ms']['p99']} ms  failed {row['failed']}")

        for size in self.plan.sizes:
            for mode in ("burst", "paced"):
                add(self.run_daemon(size, mode))
                add(self.run_floor(size, mode))
        for size in self.plan.classic_sizes:
            add(self.run_classic(size))
        if self.plan.logging_size:
            add(self.run_daemon(self.plan.logging_size, "burst", log="null"))
        if self.plan.what_if_size:
            add(self.run_daemon(self.plan.what_if_size, "paced", prelude=GC_TUNED, note="GC tuned"))
            add(self.run_daemon(self.plan.what_if_size, "burst", prelude=GC_TUNED, note="GC tuned"))
            add(self.run_daemon(self.plan.what_if_size, "burst", prelude="import uvloop\nuvloop.install()",
                                note="uvloop"))
        return {"rows": rows, "ratios": ratios(rows, self.plan)}


def _find(rows: list[dict[str, Any]], target: str, mode: str, size: int, note: str = "") -> dict[str, Any] | None:
    for row in rows:
        if row["target"] == target and row["mode"] == mode and row["n"] == size and row["note"] == note:
            return row
    return None


def ratios(rows: list[dict[str, Any]], plan: AgiPlan) -> list[dict[str, Any]]:
    """Daemon against floor (same N, same run), classic against daemon, log file against /dev/null."""
    found: list[dict[str, Any]] = []
    for size in plan.sizes:
        burst, floor_burst = _find(rows, "ivr run", "burst", size), _find(rows, "floor", "burst", size)
        paced, floor_paced = _find(rows, "ivr run", "paced", size), _find(rows, "floor", "paced", size)
        if burst and floor_burst:
            found.append({"what": f"throughput ivr run / floor, N={size}",
                          "value": ratio(burst["calls_per_s"], floor_burst["calls_per_s"])})
            found.append({"what": f"CPU per call ivr run / floor, N={size}",
                          "value": ratio(burst["cpu_ms_per_call"], floor_burst["cpu_ms_per_call"])})
        if paced and floor_paced:
            found.append({"what": f"paced p99 think time ivr run / floor, N={size}",
                          "value": ratio(paced["think_ms"]["p99"], floor_paced["think_ms"]["p99"])})
    largest = max(plan.sizes)
    for size in plan.classic_sizes:
        classic, daemon = _find(rows, "classic pyst2", "burst", size), _find(rows, "ivr run", "burst", size)
        daemon = daemon or _find(rows, "ivr run", "burst", largest)
        if classic and daemon:
            found.append({"what": f"CPU per call classic pyst2 / ivr run, N={size}",
                          "value": ratio(classic["cpu_ms_per_call"], daemon["cpu_ms_per_call"])})
            found.append({"what": f"throughput classic pyst2 / ivr run, N={size}",
                          "value": ratio(classic["calls_per_s"], daemon["calls_per_s"])})
    logged = _find(rows, "ivr run", "burst", plan.logging_size)
    silent = _find(rows, "ivr run (log to /dev/null)", "burst", plan.logging_size)
    if logged and silent:
        found.append({"what": f"CPU per call, log file / log to /dev/null, N={plan.logging_size}",
                      "value": ratio(logged["cpu_ms_per_call"], silent["cpu_ms_per_call"])})
    size = plan.what_if_size
    for note, mode in (("uvloop", "burst"), ("GC tuned", "burst"), ("GC tuned", "paced")):
        tuned, plain = _find(rows, "ivr run", mode, size, note), _find(rows, "ivr run", mode, size)
        if tuned and plain:
            what, value = (("throughput", ratio(tuned["calls_per_s"], plain["calls_per_s"])) if mode == "burst"
                           else ("p99", ratio(tuned["think_ms"]["p99"], plain["think_ms"]["p99"])))
            found.append({"what": f"what-if {note}: {mode} {what} / as shipped, N={size}", "value": value})
    return found
