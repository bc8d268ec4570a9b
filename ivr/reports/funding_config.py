"""The council's funding model (funding.yaml): which board pays for which departments, the fixed
base key ("Bas") and the measure the service part ("Tjänstebaserat") is split by. Loaded like the
rest of the configuration: every problem comes back with file, line and column.

Checks beyond the types: the base amount is at most the yearly cost; the base key names boards and
its values are shares summing to 1 or kronor summing to the base amount; every department a board
names exists in the config (agents/*.yaml `departments:` or a group's `department`), none is named by
two boards, and every department of the config has a board (else its calls could not be invoiced);
the measure's weights sum to 1.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from ivr.config.errors import problems_from_validation
from ivr.config.loader import ConfigSet
from ivr.config.model import Frozen, Identifier
from ivr.config.problems import ConfigError, Problem
from ivr.config.yamlsource import SourceDoc, load_yaml

FUNDING_FILE = "funding.yaml"
Measure = Literal["calls", "handle_time"]
Kronor = Annotated[int, Field(ge=0)]


class Board(Frozen):
    name: str
    departments: tuple[Identifier, ...] = ()


class BaseKey(Frozen):
    amount: Kronor
    key: dict[Identifier, Annotated[float, Field(ge=0)]] = Field(min_length=1)


class ServicePart(Frozen):
    # One measure, or several with weights summing to 1 ({calls: 0.5, handle_time: 0.5}).
    measure: Measure | dict[Measure, Annotated[float, Field(gt=0, le=1)]] = "handle_time"

    @property
    def weights(self) -> dict[str, float]:
        return {self.measure: 1.0} if isinstance(self.measure, str) else {str(k): v for k, v in self.measure.items()}


class FundingModel(Frozen):
    yearly_cost: Kronor
    base: BaseKey
    service: ServicePart = Field(default_factory=ServicePart)
    boards: dict[Identifier, Board] = Field(min_length=1)

    @property
    def service_amount(self) -> int:
        return self.yearly_cost - self.base.amount

    def base_shares(self) -> dict[str, float]:
        """Each board's share of the base amount (a key given in kronor is turned into shares)."""
        total = sum(self.base.key.values())
        return {board: self.base.key.get(board, 0.0) / total if total else 0.0 for board in self.boards}

    def board_of(self) -> dict[str, str]:
        return {dept: board for board, body in self.boards.items() for dept in body.departments}


def config_departments(config: ConfigSet) -> set[str]:
    return set(config.departments) | {g.department for g in config.groups.values() if g.department}


def load_funding(path: Path, config: ConfigSet) -> FundingModel:
    """The checked model, or ConfigError listing every problem."""
    doc, problems = load_yaml(path)
    if problems:
        raise ConfigError(problems)
    try:
        model = FundingModel.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(doc, exc, (), FundingModel)) from None
    problems = check_funding(doc, model, config_departments(config))
    if problems:
        raise ConfigError(problems)
    return model


def check_funding(doc: SourceDoc, model: FundingModel, departments: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if model.base.amount > model.yearly_cost:
        problems.append(doc.problem(("base", "amount"), f"the base amount {model.base.amount} is more than the "
                                    f"yearly cost {model.yearly_cost}", "the service part would be negative"))
    for board in model.base.key:
        if board not in model.boards:
            problems.append(doc.problem(("base", "key", board), f"unknown board '{board}' in the base key",
                                        _guess(board, set(model.boards)), key=True))
    total = sum(model.base.key.values())
    if not (math.isclose(total, 1.0, abs_tol=1e-9) or math.isclose(total, model.base.amount, abs_tol=0.5)):
        problems.append(doc.problem(("base", "key"), f"the base key sums to {total:g}",
                                    f"give shares that sum to 1, or kronor that sum to the amount {model.base.amount}",
                                    key=True))
    named: dict[str, str] = {}
    for board, body in model.boards.items():
        for index, dept in enumerate(body.departments):
            where = ("boards", board, "departments", index)
            if dept not in departments:
                problems.append(doc.problem(where, f"unknown department '{dept}'", _guess(dept, departments)))
            elif dept in named:
                problems.append(doc.problem(where, f"department '{dept}' is also paid for by board '{named[dept]}'",
                                            "a department's calls are invoiced to one board: keep one"))
            named.setdefault(dept, board)
    for dept in sorted(departments - set(named)):
        problems.append(doc.problem(("boards",), f"department '{dept}' has no board",
                                    "name it under the board that pays for it: its calls could not be invoiced",
                                    key=True))
    weights = model.service.weights
    if not math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9):
        problems.append(doc.problem(("service", "measure"), f"the measure's weights sum to {sum(weights.values()):g}",
                                    "weights of calls and handle_time must sum to 1", key=True))
    return problems


def _guess(word: str, known: set[str]) -> str:
    guess = difflib.get_close_matches(word, sorted(known), n=1)
    return f"did you mean '{guess[0]}'?" if guess else f"known: {', '.join(sorted(known))}"
