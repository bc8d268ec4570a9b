"""Charts of the agent and funding reports, drawn like the call report's (charts.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr.reports.agent_figures import AgentFigures, AgentReport
from ivr.reports.charts import COLOURS, _pyplot, save_all
from ivr.reports.funding import FundingReport


def _occupancy_chart(plt: Any, rows: list[AgentFigures], title: str) -> Any:
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5), layout="constrained")
    values = [(r.occupancy or 0.0) * 100 for r in rows]
    bars = ax.barh([r.name for r in rows], values, color=COLOURS["answered"])
    ax.bar_label(bars, labels=[f"{v:.1f} % ({r.calls_handled} calls)" for v, r in zip(values, rows, strict=True)],
                 padding=3)
    ax.set_xlim(0, 110)
    ax.set_xlabel("occupancy % (talk + wrap-up ÷ logged-in time not paused)")
    ax.set_title(title)
    return fig


def draw_agent_charts(report: AgentReport, folder: Path) -> list[Path]:
    """`occupancy-per-group`, and `occupancy-per-agent` when per-agent rows were made."""
    plt = _pyplot()
    period = f"{report.period.first} – {report.period.last}"
    figures: dict[str, Any] = {
        "occupancy-per-group": _occupancy_chart(plt, report.groups, f"Occupancy per group, {period}")}
    if report.agents:
        figures["occupancy-per-agent"] = _occupancy_chart(
            plt, report.agents, f"Occupancy per agent, {period} (for {report.viewer} only)")
    return save_all(plt, figures, folder)


def draw_funding_chart(report: FundingReport, folder: Path) -> list[Path]:
    """`funding-<year>`: each board's base and service part, stacked, in MSEK."""
    plt = _pyplot()
    boards = sorted(report.boards, key=lambda b: b.total)
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(boards) + 1.8), layout="constrained")
    names = [b.name for b in boards]
    base = [b.base / 1e6 for b in boards]
    ax.barh(names, base, color=COLOURS["offered"], label="base (Bas)")
    bars = ax.barh(names, [b.service / 1e6 for b in boards], left=base, color=COLOURS["sl"],
                   label="service (Tjänstebaserat)")
    ax.bar_label(bars, labels=[f"{b.total / 1e6:.2f} MSEK" for b in boards], padding=3)
    ax.set_xlim(0, max((b.total for b in boards), default=0) / 1e6 * 1.3 + 0.1)
    ax.set_xlabel("MSEK")
    ax.set_title(f"Funding {report.year}: {report.yearly_cost / 1e6:.1f} MSEK by board")
    ax.legend(loc="lower right", fontsize="small")
    return save_all(plt, {f"funding-{report.year}": fig}, folder)

