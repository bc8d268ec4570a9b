"""`queue`: end the menu in an agent group's queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, prompt_ref
from ivr.engine.outcome import Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext


class QueueNode(NodeBase):
    kind_name = "queue"
    terminal = True
    kind: Literal["queue"] = "queue"
    group: str
    prompt: str | None = None
    priority: int = Field(0, ge=0, le=10)

    def refs(self) -> list[Ref]:
        return [Ref("group", self.group, ("group",)), *prompt_ref(self.prompt, "prompt")]

    async def run(self, call: CallContext) -> Step:
        if self.prompt:
            await call.play(self.prompt, interruptible=False)
        return call.queue_outcome(self.group, priority=self.priority)
