"""What every node kind shares: its references (for the checker) and its run step (for the interpreter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.config.plan import PlanNode, Ref
from ivr.engine.outcome import Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext

class NodeBase(PlanNode):
    """A node kind that runs: the plan file's node plus its step in the interpreter."""

    async def run(self, call: CallContext) -> Step:
        raise NotImplementedError


def node_ref(target: str | None, *field: str | int) -> list[Ref]:
    return [Ref("node", target, field)] if target else []


def prompt_ref(target: str | None, *field: str | int) -> list[Ref]:
    return [Ref("prompt", target, field)] if target else []
