"""An AgentReport as a terminal table, CSV (one row per agent or group) or JSON. Every output says
that per-agent figures are personal data for the named supervisor only."""

from __future__ import annotations

import csv
import io
import json

from ivr.reports.agent_figures import AgentFigures, AgentReport
from ivr.reports.render import _mmss, _pct
from ivr.reports.text_table import titled_table

NOTICE = ("Per-agent figures are personal data about employees: for the supervisor {viewer} only "
          "(agents of their groups); do not pass them on.")
_HEAD = ("", "calls", "avg talk", "avg wrap-up", "rings n/a", "logged in", "paused")


def _hms(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _cells(row: AgentFigures, reasons: list[str]) -> tuple[str, ...]:
    return (row.name, str(row.calls_handled), _mmss(row.avg_talk_s), _mmss(row.avg_wrapup_s),
            str(row.rings_unanswered), _hms(row.logged_in_s), _hms(row.paused_s),
            *(_hms(row.paused_by_reason.get(r, 0.0)) for r in reasons), _pct(row.occupancy))


def _table(title: str, rows: list[AgentFigures], reasons: list[str]) -> str:
    head = (*_HEAD, *(f"paused: {r}" for r in reasons), "occupancy")
    return titled_table(title, [head, *(_cells(r, reasons) for r in rows)])


def as_table(report: AgentReport) -> str:
    parts = [f"Agents {report.period.first} – {report.period.last} ({report.period.zone})"]
    if report.viewer:
        parts.append(NOTICE.format(viewer=report.viewer))
        parts.append(_table("Per agent", report.agents, report.reasons))
    else:
        parts.append("Per-agent figures are shown to a supervisor only (--supervisor ID).")
    parts.append(_table("Per group (the group of the call's queue; time in every group of the agent's queues)",
                        report.groups, report.reasons))
    return "\n\n".join(parts) + "\n"


def as_csv(report: AgentReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "name", "calls_handled", "avg_talk_s", "avg_wrapup_s", "rings_unanswered",
                     "logged_in_s", "paused_s", *(f"paused_{r}_s" for r in report.reasons), "occupancy"))
    for section, rows in (("agent", report.agents), ("group", report.groups)):
        for row in rows:
            writer.writerow((section, row.name, row.calls_handled, _num(row.avg_talk_s), _num(row.avg_wrapup_s),
                             row.rings_unanswered, _num(row.logged_in_s), _num(row.paused_s),
                             *(_num(row.paused_by_reason.get(r, 0.0)) for r in report.reasons),
                             _num(row.occupancy)))
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def as_json(report: AgentReport) -> str:
    body = report.as_dict()
    if report.viewer:
        body["notice"] = NOTICE.format(viewer=report.viewer)
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
