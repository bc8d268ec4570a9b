"""`ivr report --funding --year YEAR`: each board's share of the contact center's yearly cost
(docs/reports.md, "The funding split"), from funding.yaml and the year's call records."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.cli.common import load_or_print
from ivr.cli.report_output import deliver, open_records


def run_funding(args: argparse.Namespace, zone: ZoneInfo) -> int:
    from ivr.config.problems import ConfigError
    from ivr.reports.agent_figures import configured_wrapups
    from ivr.reports.funding import build_funding
    from ivr.reports.funding_config import FUNDING_FILE, load_funding
    from ivr.reports.funding_render import as_csv, as_json, as_table
    from ivr.reports.more_charts import draw_funding_chart
    from ivr.reports.query import Period, load_calls

    if args.year is None and not args.check:
        print("give the year: --funding --year 2026", file=sys.stderr)
        return 2
    config = load_or_print(args.config, stream=sys.stderr)
    if config is None:
        return 2
    path = args.funding_file or Path(args.config[0] if args.config else ".") / FUNDING_FILE
    try:
        model = load_funding(path, config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 2
    if args.check:
        print(f"{path}: ok ({len(model.boards)} boards)")
        return 0
    db = open_records(args)
    if db is None:
        return 1
    try:
        period = Period(dt.date(args.year, 1, 1), dt.date(args.year, 12, 31), zone)
        report = build_funding(model, load_calls(db, period), args.year, wrapup_of=configured_wrapups(config))
    finally:
        db.close()
    text = {"table": as_table, "csv": as_csv, "json": as_json}[args.format](report)
    return deliver(args, text, lambda folder: draw_funding_chart(report, folder))
