"""`callback_request`: the caller leaves a number to be called back when the group next opens.

The node only ends the menu: the daemon's inbound route then asks for the number (the caller ID to
confirm, or another one keyed; a withheld caller must key one) and books the request
(ivr/entrypoints/callback_request.py). The group's `callback_requests` says which opening hours and
how many requests a day (agents/groups.yaml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ivr.config.plan import Ref
from ivr.engine.nodes.base import NodeBase, prompt_ref
from ivr.engine.outcome import Outcome, Step
from ivr.opening_hours import next_opening

if TYPE_CHECKING:
    from ivr.engine.context import CallContext


class CallbackRequestNode(NodeBase):
    kind_name = "callback_request"
    terminal = True
    kind: Literal["callback_request"] = "callback_request"
    group: str
    prompt: str | None = None

    def refs(self) -> list[Ref]:
        return [Ref("callback_group", self.group, ("group",)), *prompt_ref(self.prompt, "prompt")]

    async def run(self, call: CallContext) -> Step:
        if self.prompt:
            await call.play(self.prompt, interruptible=False)
        group = call.config.groups[self.group]
        requests = group.callback_requests
        schedule = call.config.rules.schedules.get(requests.schedule) if requests is not None else None
        opening = next_opening(schedule, call.now) if schedule is not None else None
        when = f"from {opening:%Y-%m-%d %H:%M} (next opening of {requests.schedule})" \
            if opening is not None and requests is not None else "no opening within a year"
        call.note(f"callback request for group {self.group}: called back {when}")
        return Outcome("callback", group=self.group, queue=group.queue, reason="callback_request")
