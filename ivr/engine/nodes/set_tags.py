"""`set`: tag the call (e.g. the department it is for) and go on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import StringConstraints

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, node_ref
from ivr.engine.outcome import Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext

TagName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
TagValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class SetNode(NodeBase):
    kind_name = "set"
    kind: Literal["set"] = "set"
    tags: dict[TagName, TagValue]
    next: str

    def refs(self) -> list[Ref]:
        return node_ref(self.next, "next")

    async def run(self, call: CallContext) -> Step:
        call.tags.update(self.tags)
        return self.next
