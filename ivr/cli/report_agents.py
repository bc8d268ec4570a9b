"""`ivr report --agents`: per-agent and per-group figures (docs/reports.md, "Agents' figures").

Per-agent rows are personal data about employees: they are made only for a supervisor named with
--supervisor, and only about the agents of that supervisor's groups (as on the web desktop)."""

from __future__ import annotations

import argparse
import sys
import time
from zoneinfo import ZoneInfo

from ivr.cli.common import load_or_print
from ivr.cli.report_output import deliver, open_records


def run_agents(args: argparse.Namespace, zone: ZoneInfo) -> int:
    from ivr.records import agent_store
    from ivr.reports.agent_figures import build_agent_report, configured_wrapups
    from ivr.reports.agent_render import as_csv, as_json, as_table
    from ivr.reports.more_charts import draw_agent_charts
    from ivr.reports.query import Period, load_calls

    config = load_or_print(args.config, stream=sys.stderr)
    if config is None:
        return 2
    shown: set[str] | None = None
    if args.supervisor is not None:
        supervisor = config.supervisors.get(args.supervisor)
        if supervisor is None:
            print(f"'{args.supervisor}' is not a supervisor (agents/*.yaml supervisors:); per-agent figures "
                  "are for supervisors only", file=sys.stderr)
            return 2
        shown = {name for name, agent in config.agents.items() if set(agent.groups) & set(supervisor.groups)}
    queue_group = {queue: name for name, group in config.groups.items() for queue in group.queues}
    db = open_records(args)
    if db is None:
        return 1
    try:
        period = Period(args.first, args.last, zone)
        report = build_agent_report(load_calls(db, period), agent_store.fetch(db, period.start, period.end), period,
                                    group_of=lambda q: queue_group.get(q, q), wrapup_of=configured_wrapups(config),
                                    shown_agents=shown,
                                    groups=list(config.groups), now=time.time(), viewer=args.supervisor)
    finally:
        db.close()
    text = {"table": as_table, "csv": as_csv, "json": as_json}[args.format](report)
    return deliver(args, text, lambda folder: draw_agent_charts(report, folder))
