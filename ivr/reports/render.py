"""A Report as a terminal table, CSV (one row per group, every section in one file) or JSON."""

from __future__ import annotations

import csv
import io
import json

from ivr.reports.compute import Report, Stats
from ivr.reports.text_table import titled_table

CSV_COLUMNS = ("section", "group", "calls", "share", "offered", "answered", "abandoned", "short_abandoned",
               "answered_in_target", "service_level", "avg_wait_s", "p90_wait_s", "avg_handle_s",
               "callback_requests")
SECTION_TITLES = {"hour": "Per hour of day", "weekday": "Per weekday", "service": "Per IVR choice (service)",
                  "department": "Per department (cost allocation)", "language": "Per language",
                  "queue": "Per queue", "wrapup_code": "Per wrap-up code (answered calls)"}
_HEAD = ("", "calls", "share", "offered", "answered", "abandoned", "≤5 s", "SL", "avg wait", "p90 wait", "AHT")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _cells(s: Stats) -> tuple[str, ...]:
    return (s.group, str(s.calls), _pct(s.share), str(s.offered), str(s.answered), str(s.abandoned),
            str(s.short_abandoned), _pct(s.service_level), _mmss(s.avg_wait_s), _mmss(s.p90_wait_s),
            _mmss(s.avg_handle_s))


def _table(title: str, rows: list[Stats]) -> str:
    return titled_table(title, [_HEAD, *(_cells(s) for s in rows)])


def as_table(report: Report) -> str:
    t = report.total
    head = [
        f"Calls {report.period.first} – {report.period.last} ({report.period.zone})",
        f"  calls {t.calls}, offered to a queue {t.offered}, answered {t.answered}, abandoned {t.abandoned} "
        f"(of which within {report.short_abandon_s:g} s: {t.short_abandoned})",
        f"  service level {_pct(t.service_level)} (answered within {report.sl_target_s:g} s ÷ (offered − short "
        f"abandons) = {t.answered_in_target} ÷ {t.offered - t.short_abandoned})",
        f"  wait: average {_mmss(t.avg_wait_s)}, 90th percentile {_mmss(t.p90_wait_s)}; "
        f"average handle time {_mmss(t.avg_handle_s)}",
        f"  callback requests left for the next opening {t.callback_requests}",
    ]
    parts = ["\n".join(head)]
    for name, rows in report.sections.items():
        shown = [s for s in rows if s.calls] if name in ("hour", "weekday") else rows
        parts.append(_table(SECTION_TITLES.get(name, name), shown))
    return "\n\n".join(parts) + "\n"


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section, rows in [("total", [report.total]), *report.sections.items()]:
        for s in rows:
            d = s.as_dict()
            writer.writerow([section, *("" if d[c] is None else _csv_value(d[c]) for c in CSV_COLUMNS[1:])])
    return out.getvalue()


def _csv_value(value: object) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def as_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"
