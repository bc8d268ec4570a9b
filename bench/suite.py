"""`bench/run`: every benchmark in one run, printed side by side (ratios within one run are what count
on a shared, noisy machine; see BENCHMARKS.md).

    bench/run                 everything (about 9 minutes)
    bench/run --skip asterisk without the real-Asterisk section
    bench/run --only sip      only the load over SIP (SIPp through the operator's trunk, about 4 minutes)
    bench/run --what-if       also the daemon with its GC tuned and on uvloop (rows not counted in targets)
    bench/run --smoke         a few seconds: tiny sizes, no Asterisk (tests/unit/test_bench_smoke.py)
    bench/run --smoke --only sip   two SIP calls a route (tests/integration/test_bench_sip_smoke.py)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import agi_section, ami_section, asterisk_section, config_section, sip_section
from bench.benchconfig import write_bench_config
from bench.procs import REPO
from bench.stats import raise_open_files_limit
from bench.tables import table

SECTIONS = ("agi", "asterisk", "ami", "config", "sip")
# Sections that need a real Asterisk (the sandbox): never in --smoke.
REAL_ASTERISK = ("asterisk", "sip")
TARGETS = {"p99_ms": 5.0, "floor_fraction": 0.5, "kb_per_call": 50.0}


def plans(smoke: bool, what_if: bool) -> dict[str, Any]:
    if smoke:
        return {
            "agi": agi_section.AgiPlan(sizes=(5,), burst_calls_per_caller=2, burst_min_calls=30,
                                       pace={"play_s": 0.02, "key_s": 0.02}, paced_duration_s=0.5, paced_ramp_s=0.1,
                                       classic_sizes=(2,), classic_calls=3, logging_size=0),
            "ami": ami_section.AmiPlan(events=2000),
            "config": config_section.ConfigPlan(nodes=150, groups=20, agents=50, repeats=1, first_prompt_calls=5,
                                                first_prompt_sizes=(1,)),
            # Only with --only (they need the sandbox): one short step per route.
            "asterisk": asterisk_section.AsteriskPlan(rates=(1,), window_s=2.0, settle_s=15.0),
            "sip": sip_section.SipPlan(rates=(1,), window_s=2.0, settle_s=10.0, idle_s=1.0),
        }
    # The what-if rows need the bench extra (uvloop: pip install -e '.[bench]').
    what_if_size = 2000 if what_if and importlib.util.find_spec("uvloop") else 0
    return {"agi": agi_section.AgiPlan(what_if_size=what_if_size), "ami": ami_section.AmiPlan(),
            "asterisk": asterisk_section.AsteriskPlan(), "config": config_section.ConfigPlan(),
            "sip": sip_section.SipPlan()}


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
    print(table(["route", "offered calls/s", "calls", "queued", "not queued", "wrong queue", "daemon % of a core",
                 "Asterisk % of a core", "daemon share of CPU %"],
                [[r["route"], r["rate"], r["calls"], r["ok"], r["not_queued"], r["wrong_queue"],
                  r.get("daemon_cpu_pct_of_core"), r.get("asterisk_cpu_pct_of_core"), r.get("daemon_share_pct")]
                 for r in result["rows"]]))
    for route, row in result["best"].items():
        print(f"- {route}: {row['rate'] if row else 'none'} calls/s with zero failures")


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


def print_ami(result: dict[str, Any]) -> None:
    print(f"\n### 3. AMI ingestion ({result['recorded_events']} recorded events, replayed)\n")
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


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets at the largest N, each met or missed."""
    found: list[dict[str, Any]] = []
    agi = results.get("agi")
    if agi:
        rows = agi["rows"]
        largest = max(row["n"] for row in rows if row["target"] == "ivr run")
        paced = next((r for r in rows if r["target"] == "ivr run" and r["mode"] == "paced" and r["n"] == largest), None)
        floor_paced = next((r for r in rows if r["target"] == "floor" and r["mode"] == "paced" and r["n"] == largest),
                           None)
        burst = next((r for r in rows if r["target"] == "ivr run" and r["mode"] == "burst" and r["n"] == largest
                      and not r["note"]), None)
        floor = next((r for r in rows if r["target"] == "floor" and r["mode"] == "burst" and r["n"] == largest), None)
        if paced:
            floor_note = f" (floor in the same run: {floor_paced['think_ms']['p99']} ms)" if floor_paced else ""
            found.append({"target": f"p99 think time < {TARGETS['p99_ms']:g} ms with {largest} calls held",
                          "value": f"{paced['think_ms']['p99']} ms{floor_note}",
                          "met": paced["think_ms"]["p99"] < TARGETS["p99_ms"]})
            found.append({"target": f"memory per concurrent call < {TARGETS['kb_per_call']:g} KB",
                          "value": f"{paced['kb_per_concurrent_call']} KB",
                          "met": paced["kb_per_concurrent_call"] < TARGETS["kb_per_call"]})
        if burst and floor:
            share = burst["calls_per_s"] / max(floor["calls_per_s"], 1e-9)
            found.append({"target": f"throughput ≥ {TARGETS['floor_fraction']:g} × floor at N={largest}",
                          "value": f"{share:.2f} × floor", "met": share >= TARGETS["floor_fraction"]})
    failures = sum(row["failed"] for row in (agi or {}).get("rows", []) if not row["note"])
    asterisk = results.get("asterisk")
    if asterisk:
        best = asterisk["best"]["ivr run"]
        found.append({"target": "real Asterisk: some rate with zero failures", "value": best["rate"] if best else None,
                      "met": best is not None})
    sip = results.get("sip")
    if sip:
        best = sip["best"]["ivr run"]
        found.append({"target": "over SIP: some rate with zero failures", "value": best["rate"] if best else None,
                      "met": best is not None})
    found.append({"target": "zero failed calls in every FastAGI run", "value": failures, "met": failures == 0})
    return found


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
    parser.add_argument("--record-ami", action="store_true",
                        help="keep the AMI events recorded in section 2 as bench/data/ami_events.txt")
    args = parser.parse_args(argv)
    chosen = [s for s in (args.only or SECTIONS)
              if s not in args.skip and not (args.smoke and not args.only and s in REAL_ASTERISK)]
    raise_open_files_limit()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    config = write_bench_config(args.work / "config")
    chosen_plans = plans(args.smoke, args.what_if)
    if args.record_ami:
        chosen_plans["asterisk"] = asterisk_section.AsteriskPlan(record_to=ami_section.RECORDING)
    results: dict[str, Any] = {"machine": machine(), "smoke": args.smoke, "sections": chosen}
    began = time.perf_counter()
    print(f"# bench/run — {time.strftime('%Y-%m-%d %H:%M')}, {results['machine']['cores']} cores "
          f"({results['machine']['cpu']}), {results['machine']['memory_gib']} GiB, Python "
          f"{results['machine']['python']}, load average before {results['machine']['load_before']}", flush=True)
    runners = {
        "agi": lambda: agi_section.AgiSection(chosen_plans["agi"], config, args.work / "agi").run(_progress),
        "asterisk": lambda: asterisk_section.run(chosen_plans["asterisk"], config, args.work / "asterisk", _progress),
        "ami": lambda: ami_section.run(chosen_plans["ami"], _progress),
        "config": lambda: config_section.run(chosen_plans["config"], config, args.work / "config-bench", _progress),
        "sip": lambda: sip_section.run(chosen_plans["sip"], config, args.work / "sip", _progress),
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
    printers = {"agi": print_agi, "asterisk": print_asterisk, "ami": print_ami, "config": print_config,
                "sip": print_sip}
    print("\n## Results")
    for section in chosen:
        printers[section](results[section])
    print("\n### Ratios (same run)\n")
    print(table(["ratio", "value"], [[r["what"], r["value"]] for s in chosen for r in results[s].get("ratios", [])]))
    print("\n### Targets\n")
    print(table(["target", "measured", "met"], [[t["target"], t["value"], "yes" if t["met"] else "NO"]
                                                 for t in results["targets"]]))
    print(f"\n{results['seconds']} s in all; load average after {results['load_after']}")
    (args.work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


def _progress(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
