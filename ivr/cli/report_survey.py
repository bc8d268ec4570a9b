"""`ivr report --survey`: satisfaction from the after-call survey per agent group, department and month
(docs/reports.md, "Satisfaction")."""

from __future__ import annotations

import argparse
import sys
from zoneinfo import ZoneInfo

from ivr.cli.common import load_or_print
from ivr.cli.report_output import deliver, open_records


def run_survey(args: argparse.Namespace, zone: ZoneInfo) -> int:
    from ivr.reports.query import Period, load_calls
    from ivr.reports.survey import build_survey_report
    from ivr.reports.survey_render import as_csv, as_json, as_table, draw_survey_charts

    config = load_or_print(args.config, stream=sys.stderr)
    if config is None:
        return 2
    queue_group = {queue: name for name, group in config.groups.items() for queue in group.queues}
    db = open_records(args)
    if db is None:
        return 1
    try:
        period = Period(args.first, args.last, zone)
        report = build_survey_report(load_calls(db, period), period, group_of=lambda q: queue_group.get(q, q))
    finally:
        db.close()
    text = {"table": as_table, "csv": as_csv, "json": as_json}[args.format](report)
    return deliver(args, text, lambda folder: draw_survey_charts(report, folder))
