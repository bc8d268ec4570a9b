"""`hours`: branch on a schedule (weekly hours, Swedish holidays and eves, dated exceptions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, node_ref
from ivr.engine.outcome import Step

if TYPE_CHECKING:
    from ivr.engine.context import CallContext


class HoursNode(NodeBase):
    kind_name = "hours"
    kind: Literal["hours"] = "hours"
    schedule: str
    open: str
    closed: str
    # Optional separate branch for holidays and eves (e.g. a Christmas greeting); default `closed`.
    holiday: str | None = None

    def refs(self) -> list[Ref]:
        refs = [Ref("schedule", self.schedule, ("schedule",))]
        refs += node_ref(self.open, "open") + node_ref(self.closed, "closed")
        return refs + node_ref(self.holiday, "holiday")

    async def run(self, call: CallContext) -> Step:
        state = call.opening_state(self.schedule)
        call.note(f"{'open' if state.is_open else 'closed'}: {state.reason}")
        if state.is_open:
            return self.open
        if state.holiday and self.holiday:
            return self.holiday
        return self.closed
