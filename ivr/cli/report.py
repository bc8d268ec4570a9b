"""`ivr report`: the contact center's figures, from the call records (docs/reports.md).

    ivr report --from DATE --to DATE [--format table|csv|json] [--charts DIR]     calls, service level
    ivr report --agents --from DATE --to DATE [--supervisor ID]                     per agent and group
    ivr report --funding --year YEAR [--funding-file funding.yaml]                   each board's cost
    ivr report --survey --from DATE --to DATE                         satisfaction per group, department, month
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.cli.report_output import deliver, open_records

AGENTS_HELP = ("per agent and per group: calls handled, average talk and wrap-up, rings not answered, "
               "logged-in and pause time by reason, occupancy. Per-agent figures are personal data about "
               "employees, shown only with --supervisor (for that supervisor's groups' agents); without it, "
               "per group only")
FUNDING_HELP = ("each board's base part (Bas: the base amount by the fixed key), service part (Tjänstebaserat: "
                "the rest, by its departments' use in the year's call records, as funding.yaml's measure says: "
                "'calls' = calls that chose the department, 'handle_time' = talk + wrap-up of its answered calls, "
                "or both weighted) and total, in whole kronor")


SURVEY_HELP = ("satisfaction from the after-call survey (agents/groups.yaml `survey:`) per agent group, department "
               "and month: callers who opted in, responses, response rate, mean score 1-5 and the share of 4 or 5")


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="calls, service level, waits and shares for a period; "
                                           "--agents: agents' figures; --funding: the boards' cost split",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--agents", action="store_true", help=AGENTS_HELP)
    kind.add_argument("--funding", action="store_true", help=FUNDING_HELP)
    kind.add_argument("--survey", action="store_true", help=SURVEY_HELP)
    parser.add_argument("--from", dest="first", type=dt.date.fromisoformat, default=None,
                        help="first day, e.g. 2026-11-01")
    parser.add_argument("--to", dest="last", type=dt.date.fromisoformat, default=None,
                        help="last day, included, e.g. 2026-11-30")
    parser.add_argument("--year", type=int, default=None, help="--funding: the calendar year, e.g. 2026")
    parser.add_argument("--supervisor", default=None,
                        help="--agents: the supervisor (agents/*.yaml) the per-agent figures are for")
    parser.add_argument("--funding-file", type=Path, default=None,
                        help="--funding: the funding model (default: funding.yaml in the first --config folder)")
    parser.add_argument("--check", action="store_true", help="--funding: only check the funding model")
    parser.add_argument("--config", nargs="*", default=["."],
                        help="config files or folders (--agents, --funding, --survey)")
    parser.add_argument("--db", default=None,
                        help="records database (default: IVR_DB_URL, else sqlite:///<IVR_STATE_DIR>/ivr.db)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--charts", type=Path, default=None, help="also draw PNG and SVG charts into this folder")
    parser.add_argument("--sl-target", type=float, default=60.0, help="service-level target in seconds (60)")
    parser.add_argument("--short-abandon", type=float, default=5.0,
                        help="abandons within this many seconds are left out of the service level (5)")
    parser.add_argument("--tz", default="Europe/Stockholm", help="time zone of days and hours (Europe/Stockholm)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="write the table/CSV/JSON here, not stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"unknown time zone {args.tz!r}", file=sys.stderr)
        return 2
    if args.funding:
        from ivr.cli.report_funding import run_funding

        return run_funding(args, zone)
    if args.first is None or args.last is None:
        print("give the period: --from DATE --to DATE", file=sys.stderr)
        return 2
    if args.last < args.first:
        print("--to is before --from", file=sys.stderr)
        return 2
    if args.agents:
        from ivr.cli.report_agents import run_agents

        return run_agents(args, zone)
    if args.survey:
        from ivr.cli.report_survey import run_survey

        return run_survey(args, zone)
    return run_calls(args, zone)


def run_calls(args: argparse.Namespace, zone: ZoneInfo) -> int:
    from ivr.reports.compute import build_report
    from ivr.reports.query import Period, load_calls
    from ivr.reports.render import as_csv, as_json, as_table

    db = open_records(args)
    if db is None:
        return 1
    try:
        period = Period(args.first, args.last, zone)
        report = build_report(load_calls(db, period), period, sl_target_s=args.sl_target,
                              short_abandon_s=args.short_abandon)
    finally:
        db.close()
    text = {"table": as_table, "csv": as_csv, "json": as_json}[args.format](report)

    def drawing(folder: Path) -> list[Path]:
        from ivr.reports.charts import draw_charts

        return draw_charts(report, folder)

    return deliver(args, text, drawing)
