"""Where a call goes when the interpreter is done with it: what a node's run step returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# callback: the caller asked to be called back at the next opening (the inbound route books it).
OutcomeKind = Literal["queue", "transfer", "hangup", "message", "callback"]


@dataclass(frozen=True)
class Outcome:
    """Where the call goes when the interpreter is done with it."""

    kind: OutcomeKind
    group: str | None = None
    queue: str | None = None
    target: str | None = None
    reason: str = ""
    priority: int = 0


Step = str | Outcome  # the id of the next node, or the end of the menu
