"""Section 4: `ivr check`, a hot reload (ConfigHolder.reload) and a caller's first prompt, on the shipped
config and on a large generated one (bench/genconfig.py)."""

from __future__ import annotations

import io
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from bench.genconfig import generate
from bench.procs import PYTHON, REPO, DaemonUnderTest, run_loadgen
from bench.stats import ratio
from bench.walks import MAIN_DNID, WALKS
from ivr.config.holder import ConfigHolder
from ivr.logs import configure_logging
from ivr.validate import load_config


@dataclass(frozen=True)
class ConfigPlan:
    nodes: int = 2000
    groups: int = 200
    agents: int = 2000
    repeats: int = 3
    first_prompt_calls: int = 300
    first_prompt_sizes: tuple[int, ...] = (1, 100)


def time_check(config: Path, repeats: int) -> float:
    """Median wall time of `ivr check` as an admin runs it (a new process each time)."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        done = subprocess.run([PYTHON, "-m", "ivr", "check", str(config)], cwd=REPO, capture_output=True,
                              stdin=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            raise RuntimeError(f"ivr check {config} failed:\n{done.stdout.decode()[-2000:]}")
    return statistics.median(times)


def time_reload(config: Path, repeats: int, edited: Path | None) -> float:
    """Median time of ConfigHolder.reload() after an admin's edit (one prompt's text), logs included."""
    configure_logging("info", stream=io.StringIO())
    try:
        holder = ConfigHolder([config], load_config)
        times = []
        for attempt in range(repeats):
            if edited is not None:
                text = edited.read_text(encoding="utf-8")
                edited.write_text(text.replace("welcome 0", f"welcome 0 (edit {attempt})", 1)
                                  if attempt == 0 else text.replace(f"(edit {attempt - 1})", f"(edit {attempt})"),
                                  encoding="utf-8")
            began = time.perf_counter()
            report = holder.reload()
            times.append(time.perf_counter() - began)
            if not report.ok:
                raise RuntimeError(f"reload of {config} refused: {report.problems[:3]}")
    finally:
        structlog.reset_defaults()
    return statistics.median(times)


def first_prompt(config: Path, work: Path, plan: ConfigPlan, name: str) -> dict[str, dict[str, float]]:
    """Headers sent → first STREAM FILE received, at the load generator, for N callers at once."""
    found: dict[str, dict[str, float]] = {}
    daemon = DaemonUnderTest(config, work / f"state-first-{name}", str(work / f"daemon-first-{name}.log"))
    daemon.start()
    try:
        for size in plan.first_prompt_sizes:
            spec = {"port": daemon.port, "concurrency": size, "calls": max(plan.first_prompt_calls, size),
                    "walks": [walk.as_dict() for walk in WALKS], "dnid": MAIN_DNID}
            result = run_loadgen(spec, work)
            if result["calls_failed"]:
                raise RuntimeError(f"first-prompt calls failed on {name}: {result['failure_examples']}")
            found[str(size)] = result["first_prompt_ms"]
    finally:
        daemon.stop()
    return found


def run(plan: ConfigPlan, shipped: Path, work: Path, progress: Any = print) -> dict[str, Any]:
    large = work / "large-config"
    totals = generate(large, nodes=plan.nodes, groups=plan.groups, agents=plan.agents)
    rows: list[dict[str, Any]] = []
    for name, config, edited in (("shipped", shipped, None),
                                 ("generated", large, large / "dialplans" / "generated_000.yaml")):
        row = {"config": name, "check_s": round(time_check(config, plan.repeats), 3),
               "reload_s": round(time_reload(config, plan.repeats, edited), 4),
               "first_prompt_ms": first_prompt(config, work, plan, name)}
        rows.append(row)
        progress(f"  {name:<10} check {row['check_s']} s  reload {row['reload_s']} s  "
                 f"first prompt {row['first_prompt_ms']}")
    small, big = rows
    return {"generated": totals, "rows": rows,
            "ratios": [{"what": "ivr check, generated / shipped", "value": ratio(big["check_s"], small["check_s"])},
                       {"what": "reload, generated / shipped", "value": ratio(big["reload_s"], small["reload_s"])}]}
