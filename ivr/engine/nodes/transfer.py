"""`transfer`: end the menu by sending the call to another number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ivr.config.model import E164
from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, prompt_ref
from ivr.engine.outcome import Outcome, Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext


class TransferNode(NodeBase):
    kind_name = "transfer"
    terminal = True
    kind: Literal["transfer"] = "transfer"
    target: E164
    prompt: str | None = None

    def refs(self) -> list[Ref]:
        return prompt_ref(self.prompt, "prompt")

    async def run(self, call: CallContext) -> Step:
        if self.prompt:
            await call.play(self.prompt, interruptible=False)
        return Outcome("transfer", target=self.target)
