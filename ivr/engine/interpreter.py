"""Runs one call through a plan, node by node, until it reaches a queue, a transfer or a hang-up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import structlog

from ivr.channel import CallChannel, CallerHungUp
from ivr.config.loader import ConfigSet
from ivr.config.plan import Plan
from ivr.engine.context import CallContext, StepListener
from ivr.engine.nodes.base import NodeBase
from ivr.engine.nodes.queue import QueueNode

# A plan that passes `ivr check` cannot loop without input, but a caller pressing keys forever could.
from ivr.engine.outcome import Outcome
from ivr.engine.steering import BEFORE_MESSAGE, group_steering, line_message, line_switched
from ivr.engine.trace import TraceStep
from ivr.steering.source import SteeringSource

MAX_STEPS = 200


@dataclass
class CallResult:
    outcome: Outcome | None  # None when the caller hung up in the menu
    language: str
    tags: dict[str, str]
    variables: dict[str, str]
    steps: list[TraceStep]
    plan: str
    config_version: str
    hung_up: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nodes(self) -> list[str]:
        return [step.node for step in self.steps]

    def as_dict(self) -> dict[str, Any]:
        outcome = self.outcome
        return {
            "outcome": outcome.kind if outcome else "abandoned",
            "queue": outcome.queue if outcome else None,
            "group": outcome.group if outcome else None,
            "target": outcome.target if outcome else None,
            "reason": outcome.reason if outcome else "caller hung up in the menu",
            "priority": outcome.priority if outcome else 0,
            "language": self.language,
            "nodes": self.nodes,
            "tags": self.tags,
            "variables": sorted(self.variables),
            "plan": self.plan,
            "config_version": self.config_version,
            "steps": [step.as_dict() for step in self.steps],
        }


def _notify(listener: StepListener, step: TraceStep) -> None:
    # Events and logs are observers: their failure must never change the caller's path.
    try:
        listener(step)
    except Exception:
        structlog.get_logger("ivr.engine").exception("step listener failed", node=step.node)


async def run_call(
    config: ConfigSet,
    plan: Plan,
    channel: CallChannel,
    *,
    now: dt.datetime,
    language: str | None = None,
    start: str | None = None,
    on_step: StepListener | None = None,
    steering: SteeringSource | None = None,
) -> CallResult:
    """`steering`: the supervisors' switches and temporary messages (ivr.engine.steering); None = none."""
    call = CallContext(config=config, plan=plan, channel=channel, now=now,
                       language=language or plan.default_language)
    outcome: Outcome | None = None
    hung_up = False
    try:
        await channel.answer()
        await channel.set_language(call.language)
        # The line switched off ends the call before the menu (the dialplan checks it first, too).
        outcome = await line_switched(call, steering, on_step) if steering is not None else None
        if outcome is None:
            outcome = await _run_nodes(call, start or plan.start, steering, on_step)
    except CallerHungUp:
        hung_up = True
    return CallResult(outcome=outcome, language=call.language, tags=call.tags, variables=call.variables,
                      steps=call.steps, plan=plan.name, config_version=config.version, hung_up=hung_up)


async def _run_nodes(call: CallContext, node_id: str, steering: SteeringSource | None,
                     on_step: StepListener | None) -> Outcome:
    """Node by node; the line's temporary message plays before the first node that is not the greeting or
    the language choice, a group's switch or message before that group's queue (ivr.engine.steering)."""
    message_due = steering is not None
    for _ in range(MAX_STEPS):
        node = call.plan.nodes[node_id]
        if not isinstance(node, NodeBase):  # plans are loaded with the kinds of ivr.engine.nodes (ivr.validate)
            raise TypeError(f"node '{node_id}' of kind {node.kind_name} cannot run")
        if steering is not None and message_due and node.kind_name not in BEFORE_MESSAGE:
            message_due = False
            await line_message(call, steering, on_step)
        if steering is not None and isinstance(node, QueueNode):
            switched = await group_steering(call, steering, node.group, on_step)
            if switched is not None:
                return switched
        call.steps.append(TraceStep(node_id, node.kind_name))
        if on_step:
            _notify(on_step, call.step)
        step = await node.run(call)
        if isinstance(step, Outcome):
            return step
        node_id = step
    return call.queue_outcome(call.config.rules.default_group, reason="too many steps in the menu")
