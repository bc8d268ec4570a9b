"""`ivr report --from DATE --to DATE [--db URL] [--format table|csv|json] [--charts DIR] [--sl-target 60]`:
the contact center's figures for a period, from the call records (docs/reports.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="calls, service level, waits and shares for a period")
    parser.add_argument("--from", dest="first", type=dt.date.fromisoformat, required=True,
                        help="first day, e.g. 2026-11-01")
    parser.add_argument("--to", dest="last", type=dt.date.fromisoformat, required=True,
                        help="last day, included, e.g. 2026-11-30")
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


def default_url() -> str:
    from ivr.settings import Settings

    return Settings().store_url


def run(args: argparse.Namespace) -> int:
    from ivr.reports.compute import build_report
    from ivr.reports.query import Period, load_calls
    from ivr.reports.render import as_csv, as_json, as_table
    from ivr.store.db import open_database

    if args.last < args.first:
        print("--to is before --from", file=sys.stderr)
        return 2
    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"unknown time zone {args.tz!r}", file=sys.stderr)
        return 2
    url = args.db or default_url()
    try:
        db = open_database(url)
    except Exception as exc:
        print(f"cannot open the records database: {exc}", file=sys.stderr)
        return 1
    try:
        period = Period(args.first, args.last, zone)
        report = build_report(load_calls(db, period), period, sl_target_s=args.sl_target,
                              short_abandon_s=args.short_abandon)
    finally:
        db.close()
    text = {"table": as_table, "csv": as_csv, "json": as_json}[args.format](report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.charts:
        from ivr.reports.charts import draw_charts

        try:
            files = draw_charts(report, args.charts)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"charts: {', '.join(str(f) for f in files)}", file=sys.stderr)
    return 0
