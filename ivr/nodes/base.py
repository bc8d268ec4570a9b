"""What every node kind shares: its references (for the checker) and its run step (for the interpreter)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ivr.engine.context import CallContext

RefKind = Literal["node", "prompt", "group", "schedule"]
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Ref:
    """A name this node points at, and the field (inside the node) that names it."""

    kind: RefKind
    target: str
    field: FieldPath


OutcomeKind = Literal["queue", "transfer", "hangup", "message"]


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


class NodeBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind_name: ClassVar[str]
    # A terminal node ends the menu (queue, transfer, hang-up); the checker needs every node to reach one.
    terminal: ClassVar[bool] = False
    # Whether the node waits for the caller (a loop through no such node would spin).
    takes_input: ClassVar[bool] = False

    description: str = ""

    def refs(self) -> list[Ref]:
        return []

    async def run(self, call: CallContext) -> Step:
        raise NotImplementedError


def node_ref(target: str | None, *field: str | int) -> list[Ref]:
    return [Ref("node", target, field)] if target else []


def prompt_ref(target: str | None, *field: str | int) -> list[Ref]:
    return [Ref("prompt", target, field)] if target else []
