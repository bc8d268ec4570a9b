"""`menu`: play a prompt, read one key, branch; invalid keys and silence are retried, then `fallback`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, node_ref, prompt_ref
from ivr.engine.outcome import Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext

DtmfKey = Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]


class MenuNode(NodeBase):
    kind_name = "menu"
    takes_input = True
    kind: Literal["menu"] = "menu"
    prompt: str
    options: dict[DtmfKey, str] = Field(min_length=1)
    timeout: float = Field(5.0, gt=0, le=30)
    attempts: int = Field(3, ge=1, le=10)
    invalid_prompt: str | None = None
    timeout_prompt: str | None = None
    fallback: str

    def refs(self) -> list[Ref]:
        refs = [*prompt_ref(self.prompt, "prompt")]
        refs += prompt_ref(self.invalid_prompt, "invalid_prompt")
        refs += prompt_ref(self.timeout_prompt, "timeout_prompt")
        for key, target in self.options.items():
            refs += node_ref(target, "options", key)
        refs += node_ref(self.fallback, "fallback")
        return refs

    async def run(self, call: CallContext) -> Step:
        for attempt in range(1, self.attempts + 1):
            key = await call.ask(self.prompt, timeout_s=self.timeout)
            if key in self.options:
                call.note(f"key {key}")
                return self.options[key]
            if key:
                call.note(f"invalid key {key} (attempt {attempt})")
                if self.invalid_prompt:
                    await call.play(self.invalid_prompt, interruptible=False)
            else:
                call.note(f"no key (attempt {attempt})")
                if self.timeout_prompt:
                    await call.play(self.timeout_prompt, interruptible=False)
        call.note("attempts used up")
        return self.fallback
