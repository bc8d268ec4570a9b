"""`play`: play a prompt, then go on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, node_ref, prompt_ref
from ivr.engine.outcome import Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext


class PlayNode(NodeBase):
    kind_name = "play"
    kind: Literal["play"] = "play"
    prompt: str
    next: str
    # Callers who know the menu may type ahead; a key pressed here is kept for the next menu.
    interruptible: bool = True

    def refs(self) -> list[Ref]:
        return [*prompt_ref(self.prompt, "prompt"), *node_ref(self.next, "next")]

    async def run(self, call: CallContext) -> Step:
        await call.play(self.prompt, interruptible=self.interruptible)
        return self.next
