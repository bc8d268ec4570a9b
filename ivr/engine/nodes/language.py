"""`language`: the caller picks a language; silence or a wrong key keeps the default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ivr.config.model import Language
from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, node_ref, prompt_ref
from ivr.engine.nodes.menu import DtmfKey
from ivr.engine.outcome import Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext


class LanguageNode(NodeBase):
    kind_name = "language"
    takes_input = True
    kind: Literal["language"] = "language"
    # Played once in each offered language, in the order of `options` ("för svenska, tryck 1", ...).
    prompt: str
    options: dict[DtmfKey, Language] = Field(min_length=1)
    timeout: float = Field(4.0, gt=0, le=30)
    next: str

    def refs(self) -> list[Ref]:
        # The checker holds each chosen language against the plan's `languages`.
        languages = [Ref("language", language, ("options", key)) for key, language in self.options.items()]
        return [*prompt_ref(self.prompt, "prompt"), *languages, *node_ref(self.next, "next")]

    async def run(self, call: CallContext) -> Step:
        key = call.take_typeahead()
        if not key:
            for language in self.options.values():
                key = await call.play(self.prompt, interruptible=True, language=language, keep_key=False)
                if key:
                    break
        if not key:
            key = await call.wait_for_key(self.timeout)
        chosen = self.options.get(key)
        if chosen:
            call.note(f"key {key}")
            await call.set_language(chosen)
        else:
            call.note(f"no valid key, keeping {call.language}" if not key else f"invalid key {key}")
            await call.set_language(call.language)
        return self.next
