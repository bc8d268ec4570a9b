"""What a supervisor's steering does to a call in the menu (docs/steering.md): the line switched off
ends it at once, a temporary message for the whole line plays once after the greeting and the language
choice, and a group's switch or message takes effect when the path reaches that group's queue.

The dialplan checks the line switch itself before the daemon is asked, and does the rest when the
daemon is down (asterisk-config/extensions.conf, [ivr-steer-*]); this module is the daemon's half."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from ivr.dialplan_variables import IVR_STEER_HEARD
from ivr.engine.outcome import Outcome
from ivr.engine.trace import Played, TraceStep
from ivr.steering.entry import Entry

if TYPE_CHECKING:
    from ivr.engine.context import CallContext, StepListener
    from ivr.steering.source import SteeringSource

# Node kinds that come before "the menu": the greeting and the language choice.
BEFORE_MESSAGE = frozenset({"play", "language"})
LINE = "line"


async def line_switched(call: CallContext, steering: SteeringSource, on_step: StepListener | None) -> Outcome | None:
    """The whole line is closed: its message in every language it has, then the call ends."""
    entry = await steering.entry("switch", None)
    if entry is None:
        return None
    step = _step(call, "@switch", "switch", on_step)
    for language in entry.languages:
        await _play(call, step, entry, language, "switch:all")
    step.notes.append("the line is switched off (ivr switch)")
    return Outcome("message", reason="switched off: the line")


async def line_message(call: CallContext, steering: SteeringSource, on_step: StepListener | None) -> None:
    entry = await steering.entry("message", None)
    if entry is None or not entry.active_at(call.now):
        return
    step = _step(call, "@message", "message", on_step)
    await _play(call, step, entry, call.language, "message:all")
    await call.channel.set_variable(IVR_STEER_HEARD, "1")  # the dialplan's fallback does not repeat it


async def group_steering(call: CallContext, steering: SteeringSource, group: str,
                         on_step: StepListener | None) -> Outcome | None:
    """Before the queue of `group`: its switch ends the call with its message, else its temporary
    message (inside its window) plays and the caller goes on to the queue."""
    queue = call.config.groups[group].queue
    switch = await steering.entry("switch", queue)
    if switch is not None:
        step = _step(call, f"@switch:{group}", "switch", on_step)
        await _play(call, step, switch, call.language, f"switch:{group}")
        step.notes.append(f"group {group} is switched off (ivr switch)")
        return Outcome("message", group=group, reason=f"switched off: group {group}")
    message = await steering.entry("message", queue)
    if message is not None and message.active_at(call.now):
        step = _step(call, f"@message:{group}", "message", on_step)
        await _play(call, step, message, call.language, f"message:{group}")
    return None


def _step(call: CallContext, node: str, kind: str, on_step: StepListener | None) -> TraceStep:
    step = TraceStep(node, kind)
    call.steps.append(step)
    if on_step is not None:
        try:
            on_step(step)
        except Exception:  # an observer never changes the caller's path (as in the interpreter)
            structlog.get_logger("ivr.engine").exception("step listener failed", node=step.node)
    return step


async def _play(call: CallContext, step: TraceStep, entry: Entry, language: str, prompt: str) -> None:
    sound = entry.sound(language)
    await call.channel.play(sound, interrupt_keys="")
    step.played.append(Played(prompt, language if language in entry.languages else entry.languages[0], sound))
