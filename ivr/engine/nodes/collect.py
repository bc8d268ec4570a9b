"""`collect`: read a number the caller types (e.g. a case number) into a call variable."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, node_ref, prompt_ref
from ivr.engine.outcome import Step
from ivr.privacy import looks_like_phone_number

if TYPE_CHECKING:
    from ivr.engine.context import CallContext

VariableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class CollectNode(NodeBase):
    kind_name = "collect"
    takes_input = True
    kind: Literal["collect"] = "collect"
    prompt: str
    variable: VariableName
    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(10, ge=1, le=32)
    terminator: Literal["#", "*", ""] = "#"
    timeout: float = Field(6.0, gt=0, le=30)  # for the first key and between keys
    attempts: int = Field(3, ge=1, le=10)
    invalid_prompt: str | None = None
    next: str
    fallback: str

    @model_validator(mode="after")
    def _sane_lengths(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is larger than max_digits")
        return self

    def refs(self) -> list[Ref]:
        refs = [*prompt_ref(self.prompt, "prompt"), *prompt_ref(self.invalid_prompt, "invalid_prompt")]
        return refs + node_ref(self.next, "next") + node_ref(self.fallback, "fallback")

    async def run(self, call: CallContext) -> Step:
        pattern = re.compile(rf"^[0-9]{{{self.min_digits},{self.max_digits}}}$")
        for attempt in range(1, self.attempts + 1):
            digits, terminated = await call.read_digits(
                self.prompt, max_digits=self.max_digits, terminator=self.terminator, timeout_s=self.timeout
            )
            if pattern.match(digits):
                call.variables[self.variable] = digits
                call.note(f"collected {len(digits)} digits into {self.variable}")
                return self.next
            if terminated and not digits:
                # The terminator alone means "I have none" (prompts say "otherwise, press hash"):
                # no error message and no second try.
                call.note(f"caller pressed {self.terminator} without digits")
                return self.fallback
            call.note(f"rejected input of {len(digits)} keys (attempt {attempt})")
            if self.invalid_prompt:
                await call.play(self.invalid_prompt, interruptible=False)
        return self.fallback


def shown_digits(nodes: Iterable[object], variables: Mapping[str, str],
                 is_callers_number: Callable[[str], bool]) -> dict[str, str]:
    """What the caller keyed into `collect` nodes (e.g. the case number), for the agent who answers
    (menu_finished → screen pop). Never a phone number: input that looks like one, or that is the
    caller's own number, is left out; so are variables that other nodes set."""
    names = {node.variable for node in nodes if isinstance(node, CollectNode)}
    return {name: value for name, value in sorted(variables.items())
            if name in names and not looks_like_phone_number(value) and not is_callers_number(value)}
