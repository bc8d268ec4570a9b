"""The funding split (formulas: docs/reports.md, "The funding split"):

    base part of a board    = base amount × the board's share of the base key
    service part of a board = (yearly cost − base amount) × Σ weight(m) × usage(board, m) ÷ usage(all, m)
    usage(board, calls)       = the year's calls whose department belongs to the board
    usage(board, handle_time) = talk + wrap-up of those calls that were answered (wrap-up as in the
                                agents' report: the record's, else the call's group's configured wrap-up)

Calls without a department (closed hours, hung up in the menu) belong to no board: they are paid
through the base part. Amounts are whole kronor, rounded by the largest remainder, so the parts add
up exactly to the amounts the council decided. A year without any usage splits the service part
by the base key, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ivr.reports.funding_config import FundingModel
from ivr.reports.query import ReportCall


@dataclass(frozen=True)
class BoardShare:
    board: str
    name: str
    calls: int
    handle_s: float
    usage_share: float | None  # of the service part
    base: int
    service: int

    @property
    def total(self) -> int:
        return self.base + self.service

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True)
class FundingReport:
    year: int
    yearly_cost: int
    base_amount: int
    service_amount: int
    measure: dict[str, float]
    boards: list[BoardShare]
    unassigned_calls: int  # calls with no department
    by_base_key: bool  # no usage at all: the service part followed the base key

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "yearly_cost": self.yearly_cost, "base_amount": self.base_amount,
                "service_amount": self.service_amount, "measure": self.measure,
                "unassigned_calls": self.unassigned_calls, "service_by_base_key": self.by_base_key,
                "boards": [b.as_dict() for b in self.boards]}


def largest_remainder(amount: int, weights: dict[str, float]) -> dict[str, int]:
    """`amount` split in whole kronor in proportion to `weights`, summing exactly to `amount`: each gets
    the floor of its exact part, and the kronor left go one each to the largest remainders (ties: by name)."""
    total = sum(weights.values())
    if total <= 0:
        return dict.fromkeys(weights, 0)
    exact = {k: amount * w / total for k, w in weights.items()}
    parts = {k: math.floor(v) for k, v in exact.items()}
    left = amount - sum(parts.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))[:left]:
        parts[key] += 1
    return parts


def build_funding(model: FundingModel, calls: Iterable[ReportCall], year: int, *,
                  wrapup_of: Callable[[str], float] = lambda queue: 0.0) -> FundingReport:
    """`wrapup_of(queue)`: the configured wrap-up of the queue's group, for calls without a recorded one."""
    board_of = model.board_of()
    counts = dict.fromkeys(model.boards, 0)
    handle = dict.fromkeys(model.boards, 0.0)
    unassigned = 0
    for call in calls:
        board = board_of.get(call.department or "")
        if board is None:
            unassigned += 1
            continue
        counts[board] += 1
        if call.outcome == "answered":
            wrapup = call.wrapup_s if call.wrapup_s is not None else wrapup_of(call.queue or "")
            handle[board] += (call.talk_s or 0.0) + wrapup
    usage = {"calls": {b: float(n) for b, n in counts.items()}, "handle_time": handle}
    weights = model.service.weights
    shares: dict[str, float] = dict.fromkeys(model.boards, 0.0)
    used = False
    for measure, weight in weights.items():
        total = sum(usage[measure].values())
        if total > 0:
            used = True
            for board, value in usage[measure].items():
                shares[board] += weight * value / total
    base_shares = model.base_shares()
    base = largest_remainder(model.base.amount, base_shares)
    service = largest_remainder(model.service_amount, shares if used else base_shares)
    boards = [BoardShare(board, body.name, counts[board], round(handle[board], 3),
                         shares[board] if used else None, base[board], service[board])
              for board, body in model.boards.items()]
    return FundingReport(year, model.yearly_cost, model.base.amount, model.service_amount, weights, boards,
                         unassigned, not used)
