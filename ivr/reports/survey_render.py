"""A SurveyReport as a terminal table, CSV (one row per group, department or month) or JSON, and its chart."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ivr.reports.charts import _pyplot, save_all
from ivr.reports.render import _csv_value, _pct
from ivr.reports.survey import SCORES, SurveyReport, SurveyStats
from ivr.reports.text_table import titled_table

TITLES = {"group": "Per agent group", "department": "Per department", "month": "Per month"}
CSV_COLUMNS = ("section", "group", "opted_in", "responses", "response_rate", "score", "satisfied",
               *(f"score_{s}" for s in SCORES))
_HEAD = ("", "opted in", "responses", "rate", "score", "satisfied (4-5)", *(f"{s}" for s in SCORES))


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _cells(s: SurveyStats) -> tuple[str, ...]:
    return (s.group, str(s.opted_in), str(s.responses), _pct(s.response_rate), _score(s.score), _pct(s.satisfied),
            *(str(s.by_score[str(n)]) for n in SCORES))


def _table(title: str, rows: list[SurveyStats]) -> str:
    return titled_table(title, [_HEAD, *(_cells(s) for s in rows)])


def as_table(report: SurveyReport) -> str:
    t = report.total
    head = [f"After-call survey {report.period.first} – {report.period.last} ({report.period.zone})",
            f"  opted in {t.opted_in}, responses {t.responses} ({_pct(t.response_rate)}); "
            f"score {_score(t.score)} of 5, satisfied (4 or 5) {_pct(t.satisfied)}"]
    parts = ["\n".join(head), *(_table(TITLES[name], rows) for name, rows in report.sections.items())]
    return "\n\n".join(parts) + "\n"


def as_csv(report: SurveyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section, rows in [("total", [report.total]), *report.sections.items()]:
        for s in rows:
            values: list[Any] = [s.group, s.opted_in, s.responses, s.response_rate, s.score, s.satisfied,
                                 *(s.by_score[str(n)] for n in SCORES)]
            writer.writerow([section, *("" if v is None else _csv_value(v) for v in values)])
    return out.getvalue()


def as_json(report: SurveyReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"


def _score_chart(plt: Any, rows: list[SurveyStats], title: str) -> Any:
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.5), layout="constrained")
    xs = list(range(len(rows)))
    bars = ax.bar(xs, [s.score or 0 for s in rows], 0.6, color="#2f6f3e")
    ax.bar_label(bars, labels=[f"{_score(s.score)} (n={s.responses})" for s in rows], padding=3, fontsize="small")
    ax.set_xticks(xs, [s.group for s in rows])
    ax.set_ylim(0, 5.5)
    ax.set_ylabel("score (1 very dissatisfied – 5 very satisfied)")
    ax.set_title(title)
    return fig


def draw_survey_charts(report: SurveyReport, folder: Path) -> list[Path]:
    """The mean score per group, per department and per month (n = responses)."""
    plt = _pyplot()
    period = f"{report.period.first} – {report.period.last}"
    figures = {f"satisfaction-per-{name}": _score_chart(plt, rows, f"Satisfaction {TITLES[name].lower()}, {period}")
               for name, rows in report.sections.items()}
    return save_all(plt, figures, folder)
