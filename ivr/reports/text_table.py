"""Plain-text tables of the reports: the first column left-aligned (names), the figures right-aligned."""

from __future__ import annotations

from collections.abc import Sequence


def aligned_rows(rows: Sequence[Sequence[str]]) -> list[str]:
    """Each row as one line, every column as wide as its widest cell, two spaces between columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                      for i, (cell, width) in enumerate(zip(row, widths, strict=True))) for row in rows]


def titled_table(title: str, rows: Sequence[Sequence[str]]) -> str:
    """The title, underlined, then the aligned rows (the first row is the heading)."""
    return "\n".join([title, "-" * len(title), *aligned_rows(rows)])
