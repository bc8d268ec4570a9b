"""`hangup`: end the call, after a message when one is given (e.g. closed hours)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, prompt_ref
from ivr.engine.outcome import Outcome, Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext


class HangupNode(NodeBase):
    kind_name = "hangup"
    terminal = True
    kind: Literal["hangup"] = "hangup"
    prompt: str | None = None
    # Play the message this many times, so a caller who was not listening still hears it.
    repeat: int = Field(1, ge=1, le=3)
    reason: str = ""

    def refs(self) -> list[Ref]:
        return prompt_ref(self.prompt, "prompt")

    async def run(self, call: CallContext) -> Step:
        if not self.prompt:
            return Outcome("hangup", reason=self.reason)
        for _ in range(self.repeat):
            await call.play(self.prompt, interruptible=False)
        return Outcome("message", reason=self.reason or self.prompt)
