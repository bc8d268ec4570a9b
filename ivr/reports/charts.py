"""Charts a manager can paste into a report: PNG and SVG of each, drawn with matplotlib (Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr.reports.compute import Report, Stats

COLOURS = {"offered": "#9bb7d4", "answered": "#2f6f3e", "abandoned": "#c0392b", "sl": "#1f3a93"}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise RuntimeError("charts need matplotlib: pip install 'malmo-ivr[reports]'") from exc
    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, folder: Path, name: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.svg"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths


def _volume_chart(plt: Any, rows: list[Stats], title: str, sl_target_s: float) -> Any:
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    xs = range(len(rows))
    width = 0.28
    for offset, key in ((-width, "offered"), (0.0, "answered"), (width, "abandoned")):
        ax.bar([x + offset for x in xs], [getattr(s, key) for s in rows], width, label=key, color=COLOURS[key])
    ax.set_xticks(list(xs), [s.group for s in rows])
    ax.set_ylabel("calls")
    ax.set_title(title)
    sl_axis = ax.twinx()
    sl_axis.plot(list(xs), [None if s.service_level is None else s.service_level * 100 for s in rows],
                 marker="o", color=COLOURS["sl"], label=f"service level ({sl_target_s:g} s)")
    sl_axis.set_ylim(0, 105)
    sl_axis.set_ylabel("service level %")
    handles = ax.get_legend_handles_labels()[0] + sl_axis.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + sl_axis.get_legend_handles_labels()[1]
    ax.legend(handles, labels, loc="upper left", fontsize="small")
    return fig


def _share_chart(plt: Any, rows: list[Stats], title: str) -> Any:
    ordered = sorted(rows, key=lambda s: s.calls)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(ordered) + 1.5), layout="constrained")
    bars = ax.barh([s.group for s in ordered], [(s.share or 0) * 100 for s in ordered], color=COLOURS["offered"])
    ax.bar_label(bars, labels=[f"{(s.share or 0) * 100:.1f} % ({s.calls})" for s in ordered], padding=3)
    ax.set_xlabel("share of calls %")
    ax.set_xlim(0, max([(s.share or 0) * 100 for s in ordered], default=0) * 1.25 + 1)
    ax.set_title(title)
    return fig


def draw_charts(report: Report, folder: Path) -> list[Path]:
    """Writes hourly, weekday, services and departments charts; returns the files written."""
    plt = _pyplot()
    period = f"{report.period.first} – {report.period.last}"
    hours = [s for s in report.sections["hour"] if s.calls] or report.sections["hour"]
    figures = {
        "calls-per-hour": _volume_chart(plt, hours, f"Calls per hour of day, {period}", report.sl_target_s),
        "calls-per-weekday": _volume_chart(plt, report.sections["weekday"], f"Calls per weekday, {period}",
                                           report.sl_target_s),
        "calls-per-service": _volume_chart(plt, report.sections["service"], f"Calls per IVR choice, {period}",
                                           report.sl_target_s),
        "department-share": _share_chart(plt, report.sections["department"],
                                         f"Share of calls per department, {period}"),
    }
    return save_all(plt, figures, folder)


def save_all(plt: Any, figures: dict[str, Any], folder: Path) -> list[Path]:
    """Each figure as `<name>.png` and `<name>.svg`, closed after; returns the files written."""
    written: list[Path] = []
    for name, fig in figures.items():
        try:
            written += _save(fig, folder, name)
        finally:
            plt.close(fig)
    return written
