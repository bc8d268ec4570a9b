"""A FundingReport as a terminal table, CSV (one row per board, for invoicing) or JSON."""

from __future__ import annotations

import csv
import io
import json

from ivr.reports.funding import FundingReport
from ivr.reports.render import _mmss, _pct
from ivr.reports.text_table import aligned_rows

_HEAD = ("board", "calls", "handle time", "usage", "base (Bas)", "service (Tjänstebaserat)", "total")


def _kr(amount: int) -> str:
    return f"{amount:,}".replace(",", " ") + " kr"


def _measure(report: FundingReport) -> str:
    return " + ".join(f"{w:g} × {m}" if w != 1 else m for m, w in report.measure.items())


def as_table(report: FundingReport) -> str:
    rows = [_HEAD, *((b.name, str(b.calls), _hms(b.handle_s), _pct(b.usage_share), _kr(b.base), _kr(b.service),
                      _kr(b.total)) for b in report.boards),
            ("all boards", str(sum(b.calls for b in report.boards)),
             _hms(sum(b.handle_s for b in report.boards)), "", _kr(sum(b.base for b in report.boards)),
             _kr(sum(b.service for b in report.boards)), _kr(sum(b.total for b in report.boards)))]
    lines = [f"Funding {report.year}: yearly cost {_kr(report.yearly_cost)} = base {_kr(report.base_amount)} "
             f"(by the base key) + service {_kr(report.service_amount)} (by {_measure(report)})"]
    if report.by_base_key:
        lines.append("No call of the year used a board's services: the service part follows the base key.")
    lines.append(f"Calls without a department (paid through the base part): {report.unassigned_calls}")
    lines.append("")
    lines.extend(aligned_rows(rows))
    return "\n".join(lines) + "\n"


def _hms(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{_mmss(whole % 3600)}" if whole >= 3600 else _mmss(seconds)


def as_csv(report: FundingReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("board", "name", "calls", "handle_s", "usage_share", "base_sek", "service_sek", "total_sek"))
    for b in report.boards:
        share = "" if b.usage_share is None else f"{b.usage_share:.6f}".rstrip("0").rstrip(".")
        writer.writerow((b.board, b.name, b.calls, f"{b.handle_s:g}", share, b.base, b.service, b.total))
    return out.getvalue()


def as_json(report: FundingReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"
