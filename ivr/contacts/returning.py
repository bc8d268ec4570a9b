"""Returning callers: a citizen who calls the city back after a missed attempt is offered, before the
menu, a connection to whoever tried to reach them.

The caller has not chosen a language yet, so the notice plays in `returning_callers.languages` one
after the other (Swedish, then English, as shipped); the offer key interrupts it. A caller who takes
the offer is transferred to the official's direct line, and when nobody answers there the dialplan
queues them in the department's group (IVR_TRANSFER_QUEUE); a call that an agent or the contact
center placed goes straight to that queue. Any other key, or none, and the usual menu follows.

A withheld number, or no open attempt, costs the caller nothing: no lookup for the first, one indexed
lookup for the second (bounded by the registry's timeout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivr.callerid.directory import department_group
from ivr.channel import CallChannel, CallerHungUp
from ivr.config.loader import ConfigSet
from ivr.config.model import Prompt, ReturningCallers
from ivr.config.plan import Plan, is_audio_file
from ivr.contacts.disclosure import agent_view, effective_level
from ivr.contacts.store import Attempt
from ivr.engine.interpreter import CallResult
from ivr.engine.outcome import Outcome
from ivr.engine.trace import Played, TraceStep
from ivr.events import names

if TYPE_CHECKING:
    from ivr.calls import ActiveCall
    from ivr.contacts.services import ContactServices
    from ivr.events.sink import EventSink

STEP = "returning_caller"


@dataclass(frozen=True)
class ReturnRoute:
    direct_line: str | None  # tried first: the official who called
    group: str  # the agent group that takes the call when the line does not answer, or at once


def return_route(config: ConfigSet, attempt: Attempt) -> ReturnRoute:
    official = config.officials.get(attempt.placer) if attempt.placer_kind == "official" else None
    return ReturnRoute(official.direct_line if official else None, department_group(config, attempt.department))


def system_sound(prompt: Prompt, prompt_id: str, language: str) -> str:
    """A system prompt's sound: an installed recording it names, else what `ivr prompts build` rendered."""
    recorded = prompt.recording.get(language)
    if recorded and not is_audio_file(recorded):
        return recorded
    return f"ivr/{language}/{prompt_id}"


async def offer_connection(contacts: ContactServices | None, events: EventSink, call: ActiveCall,
                           channel: CallChannel, config: ConfigSet, plan: Plan) -> CallResult | None:
    """The call's result when the caller took the offer (or hung up during it); None to run the menu."""
    settings = config.rules.contact_registry.returning_callers
    if not settings.offer or contacts is None or not call.caller_hash:
        return None
    retention = config.rules.contact_registry.retention_days
    attempt = await contacts.registry.find_open(call.caller_hash, retention_days=retention,
                                                call_ref=call.uniqueid)
    if attempt is None:
        return None
    step = TraceStep(STEP, STEP)
    result = CallResult(outcome=None, language=plan.default_language, tags={}, variables={}, steps=[step],
                        plan=plan.name, config_version=config.version)
    try:
        key = await _play_offer(channel, config, settings, step)
    except CallerHungUp:
        result.hung_up = True
        return result  # not marked: the caller heard at most part of the offer, so it stands
    accepted = key == settings.key
    contacts.registry.mark_returned(attempt.attempt_id, "accepted" if accepted else "declined")
    view = agent_view(config, attempt, offer="accepted" if accepted else "declined")
    if view is not None:
        events.emit(names.RETURNING_CALLER, call, **view)
    call.log.info("returning caller offered a connection", attempt=attempt.attempt_id, accepted=accepted)
    # A caller who declines and goes through the menu still gets the returning-caller queue boost.
    call.extra["returning"] = True
    if not accepted:
        return None
    route = return_route(config, attempt)
    queue = config.groups[route.group].queue
    reason = "returning caller"
    result.outcome = Outcome("transfer", group=route.group, queue=queue, target=route.direct_line, reason=reason) \
        if route.direct_line else Outcome("queue", group=route.group, queue=queue, reason=reason)
    result.tags = {"service": STEP}
    if effective_level(config, attempt) != "none" and attempt.department:
        result.tags["department"] = attempt.department
    return result


async def _play_offer(channel: CallChannel, config: ConfigSet, settings: ReturningCallers, step: TraceStep) -> str:
    prompt = config.rules.system_prompts[settings.prompt]
    await channel.answer()
    for language in settings.languages:
        sound = system_sound(prompt, settings.prompt, language)
        key = await channel.play(sound, interrupt_keys=settings.key)
        step.played.append(Played(settings.prompt, language, sound, key))
        if key:
            step.keys += key
            return key
    key = await channel.wait_for_key(settings.wait_s)
    step.keys += key
    return key
