"""`bench/run`: every benchmark in one run, printed side by side (ratios within one run are what count
on a shared, noisy machine; see BENCHMARKS.md).

    bench/run                 everything (see BENCHMARKS.md for how long)
    bench/run --check         the same, and exit 1 when a target is missed
    bench/run --only instructions --check
                              the regression guard: instructions per call under callgrind against
                              bench/data/instructions_baseline.json (under a minute; scripts/test runs it)
    bench/run --skip asterisk without the real-Asterisk section
    bench/run --only sip      only the load over SIP (SIPp through the operator's trunk, about 4 minutes)
    bench/run --only workers  only "using both cores": two `ivr run` sharing the calls against one (FastAGI
                              burst, then the real-Asterisk menu; PostgreSQL on 127.0.0.1:5432)
    bench/run --what-if       also the daemon with its GC tuned and on uvloop (rows not counted in targets)
    bench/run --smoke         a few seconds: tiny sizes, no Asterisk (tests/unit/test_bench_smoke.py)
    bench/run --smoke --only sip   two SIP calls a route (tests/integration/test_bench_sip_smoke.py)
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import (
    agi_section,
    ami_section,
    asterisk_section,
    config_section,
    instructions,
    sip_section,
    workers_section,
)
from bench.benchconfig import write_bench_config
from bench.procs import REPO
from bench.stats import raise_open_files_limit
from bench.tables import table

SECTIONS = ("instructions", "agi", "asterisk", "ami", "config", "sip", "workers")
# Sections that need a real Asterisk (the sandbox; workers also PostgreSQL): never in --smoke unless --only.
REAL_ASTERISK = ("asterisk", "sip", "workers")
# Sections --smoke leaves out unless named with --only (valgrind: slow to start).
SMOKE_SKIPS = (*REAL_ASTERISK, "instructions")
# Issue #13's targets, judged on the shipped rows only (never a what-if or /dev/null row).
TARGETS = {"p99_ms": 10.0, "p999_ms": 50.0, "floor_fraction_n100": 0.6, "cpu_per_call_vs_floor": 1.7,
           "instructions_vs_floor": 2.0, "classic_factor": 20.0, "kb_per_call": 25.0, "ami_vs_floor": 0.4}


def plans(smoke: bool, what_if: bool, inject_work: int = 0) -> dict[str, Any]:
    if smoke:
        return {
            "instructions": instructions.InstructionPlan(calls=6, concurrency=2, inject_work=inject_work),
            "agi": agi_section.AgiPlan(sizes=(5,), burst_calls_per_caller=2, burst_min_calls=30,
                                       pace={"play_s": 0.02, "key_s": 0.02}, paced_duration_s=0.5, paced_ramp_s=0.1,
                                       classic_sizes=(2,), classic_calls=3, logging_size=0),
            "ami": ami_section.AmiPlan(events=2000),
            "config": config_section.ConfigPlan(nodes=150, groups=20, agents=50, repeats=1, first_prompt_calls=5,
                                                first_prompt_sizes=(1,)),
            # Only with --only (they need the sandbox): one short step per route.
            "asterisk": asterisk_section.AsteriskPlan(rates=(1,), window_s=2.0, settle_s=15.0),
            "sip": sip_section.SipPlan(rates=(1,), window_s=2.0, settle_s=10.0, idle_s=1.0),
            "workers": workers_section.WorkersPlan(
                burst_size=4, burst_calls=30,
                asterisk=asterisk_section.AsteriskPlan(rates=(1,), window_s=2.0, settle_s=15.0, unfiltered_up_to=0)),
        }
    # The what-if rows need the bench extra (uvloop: pip install -e '.[bench]').
    what_if_size = 2000 if what_if and importlib.util.find_spec("uvloop") else 0
    return {"instructions": instructions.InstructionPlan(inject_work=inject_work),
            "agi": agi_section.AgiPlan(what_if_size=what_if_size), "ami": ami_section.AmiPlan(),
            "asterisk": asterisk_section.AsteriskPlan(), "config": config_section.ConfigPlan(),
            "sip": sip_section.SipPlan(), "workers": workers_section.WorkersPlan()}


def machine() -> dict[str, Any]:
    cpu = "?"
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(total_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "kernel": platform.release(), "load_before": os.getloadavg()}


# --- printing --------------------------------------------------------------------------------------

def print_instructions(result: dict[str, Any]) -> None:
    print(f"\n### 0. Instructions (callgrind: {result['calls']} calls, {result['concurrency']} at a time, Asterisk "
          "answering at once)\n")
    print(table(["server", "calls", "AGI commands", "instructions", "per call", "per AGI command"],
                [[r["server"], r["calls"], r["commands"], r["instructions"], r["per_call"], r["per_command"]]
                 for r in result["rows"]]))


def print_agi(result: dict[str, Any]) -> None:
    rows = result["rows"]
    print("\n### 1. FastAGI: throughput (burst: Asterisk answers at once, N callers back to back)\n")
    print(table(["server", "N", "calls ok", "failed", "calls/s", "think p50 ms", "p99", "p99.9", "e2e p50 ms",
                 "first prompt p50 ms", "CPU ms/call", "peak RSS MB", "loadgen CPU"],
                [[r["target"] + (f" ({r['note']})" if r["note"] else ""), r["n"], r["ok"], r["failed"],
                  r["calls_per_s"], r["think_ms"]["p50"], r["think_ms"]["p99"], r["think_ms"]["p999"],
                  r["e2e_ms"]["p50"], r["first_prompt_ms"]["p50"], r["cpu_ms_per_call"], r["peak_rss_mb"],
                  r["loadgen_cpu_share"]] for r in rows if r["mode"] == "burst"]))
    print("\n### 1. FastAGI: latency with N calls held (paced: prompts play, callers press keys)\n")
    print(table(["server", "N held", "calls ok", "failed", "calls/s", "think p50 ms", "p99", "p99.9", "max",
                 "first prompt p99 ms", "CPU ms/call", "KB per concurrent call"],
                [[r["target"] + (f" ({r['note']})" if r["note"] else ""), r["peak_in_flight"], r["ok"], r["failed"],
                  r["calls_per_s"], r["think_ms"]["p50"],
                  r["think_ms"]["p99"], r["think_ms"]["p999"], r["think_ms"]["max"], r["first_prompt_ms"]["p99"],
                  r["cpu_ms_per_call"], r["kb_per_concurrent_call"]] for r in rows if r["mode"] == "paced"]))


def print_asterisk(result: dict[str, Any]) -> None:
    print(f"\n### 2. Real Asterisk (sandbox instance {result['instance']}): calls/s that all reach their queue\n")
    print(table(["route", "offered calls/s", "calls", "queued", "not queued", "wrong queue", "daemon ms CPU/call",
                 "Asterisk ms CPU/call", "daemon % of a core", "Asterisk % of a core", "machine busy %"],
                [[r["route"], r["rate"], r["calls"], r["ok"], r["not_queued"], r["wrong_queue"],
                  r.get("daemon_ms_per_call"), r.get("asterisk_ms_per_call"), r.get("daemon_cpu_pct_of_core"),
                  r.get("asterisk_cpu_pct_of_core"), r.get("machine_busy_pct")] for r in result["rows"]]))
    for route, found in result.get("ceiling", {}).items():
        print(f"- {route}: ceiling {found['rate'] if found['rate'] is not None else 'none'} calls/s with zero "
              f"failures ({found['why']})")


def print_sip(result: dict[str, Any]) -> None:
    print(f"\n### 5. Load over SIP (sandbox instance {result['instance']}): SIPp citizens through the operator's "
          f"trunk, {'A-law audio and ' if result['audio'] else ''}RFC 4733 keys, {result['prompt_s']} s prompts, "
          f"{result['call_s']} s a call\n")
    print(table(["route", "offered calls/s", "calls", "queued", "not queued", "wrong queue", "SIPp failed",
                 "Asterisk ms CPU/call", "daemon ms CPU/call", "SIPp ms CPU/call", "Asterisk % of a core",
                 "daemon % of a core", "SIPp % of a core", "load avg (1 min) before"],
                [[r["route"], r["rate"], r["calls"], r["ok"], r["not_queued"], r["wrong_queue"], r["sipp_failed"],
                  r["asterisk_ms_per_call"], r["daemon_ms_per_call"], r["sipp_ms_per_call"],
                  r["asterisk_pct_of_core"], r["daemon_pct_of_core"], r["sipp_pct_of_core"], r["load_1min_before"]]
                 for r in result["rows"]]))
    idle = result.get("idle")
    if idle:
        print(f"- idle, no calls (measured first): Asterisk {idle['asterisk_pct_of_core']} %, daemon "
              f"{idle['daemon_pct_of_core']} % of a core")
    for route, row in result["best"].items():
        print(f"- {route}: {row['rate'] if row else 'none'} calls/s with zero failures")
    for row in result["rows"]:
        if row["ok"] != row["calls"]:
            print(f"- {row['route']} at {row['rate']:g} calls/s: {row['not_queued']} not queued, "
                  f"{row['wrong_queue']} in the wrong queue {row['wrong_queues'] or ''}, "
                  f"{row['not_sip']} not over SIP; "
                  f"SIPp: {row['sipp_successful']} successful, {row['sipp_failed']} failed, exit "
                  f"{row['sipp_returncode']}, logged: {'; '.join(row['sipp_errors']) or 'nothing'}; the daemon's menus "
                  f"ended: {row['daemon_menu_outcomes'] or 'none'}")


def print_workers(result: dict[str, Any]) -> None:
    print("\n### 6. Using both cores: FastAGI burst, the calls to the daemons' ports in turn (no Asterisk)\n")
    print(table(["daemons", "store", "N", "calls ok", "failed", "calls/s", "think p99 ms", "e2e p50 ms",
                 "daemons' CPU ms/call", "store CPU ms/call", "each daemon % of a core", "loadgen % of a core",
                 "rest of the machine % of a core", "machine busy %"],
                [[r["daemons"], r["store"], r["n"], r["ok"], r["failed"], r["calls_per_s"], r["think_ms"]["p99"],
                  r["e2e_ms"]["p50"], r["cpu_ms_per_call"], r["store_ms_per_call"],
                  " / ".join(f"{v:g}" for v in r["daemon_pct_of_core"]), r["loadgen_pct_of_core"],
                  r.get("rest_pct_of_core"), r["machine_busy_pct"]] for r in result["burst"]]))
    asterisk = result["asterisk"]
    print(f"\n### 6. Using both cores: real Asterisk (sandbox instance {asterisk['instance']}), the menu through "
          "IVR_AGI_HOSTS, store PostgreSQL\n")
    print(table(["route", "offered calls/s", "calls", "queued", "not queued", "wrong queue",
                 "daemons' ms CPU/call", "Asterisk ms CPU/call", "store ms CPU/call", "daemons % of a core",
                 "Asterisk % of a core", "rest of the machine % of a core", "machine busy %"],
                [[r["route"], r["rate"], r["calls"], r["ok"], r["not_queued"], r["wrong_queue"],
                  r.get("daemon_ms_per_call"), r.get("asterisk_ms_per_call"), r.get("store_ms_per_call"),
                  r.get("daemon_cpu_pct_of_core"), r.get("asterisk_cpu_pct_of_core"), r.get("rest_pct_of_core"),
                  r.get("machine_busy_pct")] for r in asterisk["rows"]]))
    for route, found in asterisk["ceiling"].items():
        menus = asterisk["menus_per_daemon"].get(route, [])
        print(f"- {route}: ceiling {found['rate'] if found['rate'] is not None else 'none'} calls/s with zero "
              f"failures ({found['why']}); menus finished per daemon: {' / '.join(map(str, menus)) or 'none'}")


def print_ami(result: dict[str, Any]) -> None:
    print(f"\n### 3. AMI ingestion ({result.get('replayed_events', result['recorded_events'])} of "
          f"{result['recorded_events']} recorded events, those the daemon's user receives, replayed)\n")
    print(table(["consumer", "events", "events/s", "CPU µs/event"],
                [[r["mode"], r["events"], r["events_per_s"], r["cpu_us_per_event"]] for r in result["rows"]]))
    print("\nmix: " + ", ".join(f"{name} {count}" for name, count in result["mix"]))


def print_config(result: dict[str, Any]) -> None:
    totals = result["generated"]
    print(f"\n### 4. Config (generated: {totals['plans']} plans, {totals['nodes']} nodes, {totals['groups']} groups, "
          f"{totals['agents']} agents)\n")
    sizes = sorted({size for row in result["rows"] for size in row["first_prompt_ms"]}, key=int)
    print(table(["config", "ivr check s", "reload s",
                 *(f"first prompt N={size} p50/p99 ms" for size in sizes)],
                [[r["config"], r["check_s"], r["reload_s"],
                  *(f"{r['first_prompt_ms'][s]['p50']} / {r['first_prompt_ms'][s]['p99']}" for s in sizes)]
                 for r in result["rows"]]))


def _shipped(rows: list[dict[str, Any]], mode: str, n: int | None = None) -> list[dict[str, Any]]:
    """The daemon as shipped: not a what-if row (GC tuned, uvloop), not the log-to-/dev/null row."""
    return [r for r in rows if r["target"] == "ivr run" and not r["note"] and r["mode"] == mode
            and (n is None or r["n"] == n)]


def _floor(rows: list[dict[str, Any]], mode: str, n: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["target"] == "floor" and r["mode"] == mode and r["n"] == n), None)


def _verdict(target: str, value: object, met: bool) -> dict[str, Any]:
    return {"target": target, "value": value, "met": met}


def agi_targets(agi: dict[str, Any]) -> list[dict[str, Any]]:
    rows = agi["rows"]
    found: list[dict[str, Any]] = []
    for burst in _shipped(rows, "burst"):
        floor = _floor(rows, "burst", burst["n"])
        if floor is None:
            continue
        cpu = burst["cpu_ms_per_call"] / max(floor["cpu_ms_per_call"], 1e-9)
        found.append(_verdict(f"CPU per call ≤ {TARGETS['cpu_per_call_vs_floor']:g} × floor, burst N={burst['n']}",
                              f"{cpu:.2f} × ({burst['cpu_ms_per_call']} ms against {floor['cpu_ms_per_call']} ms)",
                              cpu <= TARGETS["cpu_per_call_vs_floor"]))
        if burst["n"] == 100:
            share = burst["calls_per_s"] / max(floor["calls_per_s"], 1e-9)
            found.append(_verdict(f"throughput ≥ {TARGETS['floor_fraction_n100']:g} × floor, burst N=100",
                                  f"{share:.2f} × ({burst['calls_per_s']} against {floor['calls_per_s']} calls/s)",
                                  share >= TARGETS["floor_fraction_n100"]))
    classic = next((r for r in rows if r["target"] == "classic pyst2"), None)
    daemon = next(iter(_shipped(rows, "burst", classic["n"]) if classic else []), None)
    if classic and daemon:
        factor = daemon["calls_per_s"] / max(classic["calls_per_s"], 1e-9)
        found.append(_verdict(f"calls/s ≥ {TARGETS['classic_factor']:g} × pyst2 process-per-call, N={classic['n']}",
                              f"{factor:.1f} ×", factor >= TARGETS["classic_factor"]))
    paced_rows = _shipped(rows, "paced")
    if paced_rows:
        paced = max(paced_rows, key=lambda r: r["n"])
        held = paced["peak_in_flight"]
        found.append(_verdict(f"paced, {held} calls held: think p99 ≤ {TARGETS['p99_ms']:g} ms",
                              f"{paced['think_ms']['p99']} ms", paced["think_ms"]["p99"] <= TARGETS["p99_ms"]))
        found.append(_verdict(f"paced, {held} calls held: think p99.9 ≤ {TARGETS['p999_ms']:g} ms",
                              f"{paced['think_ms']['p999']} ms", paced["think_ms"]["p999"] <= TARGETS["p999_ms"]))
        found.append(_verdict(f"memory per concurrent call ≤ {TARGETS['kb_per_call']:g} KB ({held} held)",
                              f"{paced['kb_per_concurrent_call']} KB",
                              paced["kb_per_concurrent_call"] <= TARGETS["kb_per_call"]))
    failures = sum(r["failed"] for mode in ("burst", "paced") for r in _shipped(rows, mode))
    found.append(_verdict("zero failed calls in every shipped FastAGI row", failures, failures == 0))
    return found


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue #13's targets, each met or missed, from the shipped rows only."""
    found: list[dict[str, Any]] = []
    counted = results.get("instructions")
    if counted and counted["floor_per_call"]:
        ratio = counted["daemon_per_call"] / counted["floor_per_call"]
        found.append(_verdict(f"instructions per call ≤ {TARGETS['instructions_vs_floor']:g} × floor (callgrind)",
                              f"{ratio:.2f} × ({counted['daemon_per_call']:,} against {counted['floor_per_call']:,})",
                              ratio <= TARGETS["instructions_vs_floor"]))
    if counted and not results["smoke"]:  # a smoke's few calls are not comparable with the baseline
        baseline = instructions.load_baseline()
        found.append(instructions.regression(counted, baseline) if baseline else
                     _verdict("instructions per call against the committed baseline", "no baseline", False))
    agi = results.get("agi")
    if agi:
        found += agi_targets(agi)
    ami = results.get("ami")
    if ami:
        by_mode = {row["mode"]: row for row in ami["rows"]}
        share = by_mode["daemon"]["events_per_s"] / max(by_mode["floor"]["events_per_s"], 1e-9)
        found.append(_verdict(f"AMI ingestion ≥ {TARGETS['ami_vs_floor']:g} × raw parse floor", f"{share:.2f} ×",
                              share >= TARGETS["ami_vs_floor"]))
    workers = results.get("workers")
    if workers:
        found += workers_section.targets(workers)
    for section, what in (("asterisk", "real Asterisk"), ("sip", "over SIP")):
        result = results.get(section)
        if result:
            best = result["best"]["ivr run"]
            found.append(_verdict(f"{what}: some rate with zero failures", best["rate"] if best else None,
                                  best is not None))
    return found


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True, check=False).stdout.strip()
    return done.stdout.strip() + ("+changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, no Asterisk unless a real-Asterisk section is named with --only")
    parser.add_argument("--skip", action="append", default=[], choices=SECTIONS, help="leave a section out")
    parser.add_argument("--only", action="append", default=[], choices=SECTIONS, help="run only these sections")
    parser.add_argument("--work", type=Path, default=REPO / "tmp" / "bench", help="scratch folder (replaced)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--what-if", action="store_true",
                        help="add rows at N=2000 with the GC tuned and on uvloop (about a minute more)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--guard", action="store_true",
                        help="only the regression guard: the daemon's instructions per call against the committed "
                             "baseline, exit 1 above it (scripts/test)")
    parser.add_argument("--inject-work", type=int, default=0, metavar="N",
                        help="bench-only fault: the daemon also sums N squares a call (proves the check fails)")
    parser.add_argument("--write-instructions-baseline", action="store_true",
                        help="store this run's instructions per call as bench/data/instructions_baseline.json")
    parser.add_argument("--record-ami", action="store_true",
                        help="keep the AMI events recorded in section 2 as bench/data/ami_events.txt")
    args = parser.parse_args(argv)
    if args.guard:
        args.only, args.check = ["instructions"], True
    chosen = [s for s in (args.only or SECTIONS)
              if s not in args.skip and not (args.smoke and not args.only and s in SMOKE_SKIPS)]
    raise_open_files_limit()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    config = write_bench_config(args.work / "config")
    chosen_plans = plans(args.smoke, args.what_if, args.inject_work)
    if args.guard:
        chosen_plans["instructions"] = dataclasses.replace(chosen_plans["instructions"], floor=False)
    if args.record_ami:
        chosen_plans["asterisk"] = asterisk_section.AsteriskPlan(record_to=ami_section.RECORDING)
    results: dict[str, Any] = {"machine": machine(), "smoke": args.smoke, "sections": chosen, "commit": _commit()}
    began = time.perf_counter()
    print(f"# bench/run — {time.strftime('%Y-%m-%d %H:%M')}, {results['machine']['cores']} cores "
          f"({results['machine']['cpu']}), {results['machine']['memory_gib']} GiB, Python "
          f"{results['machine']['python']}, load average before {results['machine']['load_before']}, commit "
          f"{results['commit']}", flush=True)
    runners = {
        "instructions": lambda: instructions.run(chosen_plans["instructions"], config, args.work / "instructions",
                                                 _progress),
        "agi": lambda: agi_section.AgiSection(chosen_plans["agi"], config, args.work / "agi").run(_progress),
        "asterisk": lambda: asterisk_section.run(chosen_plans["asterisk"], config, args.work / "asterisk", _progress),
        "ami": lambda: ami_section.run(chosen_plans["ami"], _progress),
        "config": lambda: config_section.run(chosen_plans["config"], config, args.work / "config-bench", _progress),
        "sip": lambda: sip_section.run(chosen_plans["sip"], config, args.work / "sip", _progress),
        "workers": lambda: workers_section.run(chosen_plans["workers"], config, args.work / "workers", _progress),
    }
    for section in chosen:
        (args.work / section).mkdir(exist_ok=True)
        if section == "config":
            (args.work / "config-bench").mkdir(exist_ok=True)
        print(f"\n## running {section}", flush=True)
        started = time.perf_counter()
        results[section] = runners[section]()
        results[section]["seconds"] = round(time.perf_counter() - started, 1)
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["targets"] = targets(results)
    results["load_after"] = os.getloadavg()
    if args.write_instructions_baseline and "instructions" in results and not args.inject_work and not args.smoke:
        instructions.write_baseline(results["instructions"], results["commit"])
    printers = {"instructions": print_instructions, "agi": print_agi, "asterisk": print_asterisk, "ami": print_ami,
                "config": print_config, "sip": print_sip, "workers": print_workers}
    print("\n## Results")
    for section in chosen:
        printers[section](results[section])
    print("\n### Ratios (same run)\n")
    print(table(["ratio", "value"], [[r["what"], r["value"]] for s in chosen for r in results[s].get("ratios", [])]))
    print("\n### Targets\n")
    print(table(["target", "measured", "met"], [[t["target"], t["value"], "yes" if t["met"] else "NO"]
                                                 for t in results["targets"]]))
    missed = [t["target"] for t in results["targets"] if not t["met"]]
    print(f"\n{results['seconds']} s in all; load average after {results['load_after']}; commit {results['commit']}; "
          f"{len(missed)} of {len(results['targets'])} targets missed")
    (args.work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 1 if args.check and missed else 0


def _progress(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
