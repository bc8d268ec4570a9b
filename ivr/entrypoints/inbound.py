"""`agi://…/inbound`: a call to one of the city's numbers runs the menu of the plan that answers it.

The route only decides; the dialplan acts on the IVR_* variables it sets (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import structlog

from ivr.agi.channel import AgiChannel
from ivr.channel import CallerHungUp
from ivr.contacts.returning import offer_connection
from ivr.dialplan_variables import (
    IVR_CALLBACK_OFFER,
    IVR_CONFIG_VERSION,
    IVR_LANG,
    IVR_MAX_PENALTY,
    IVR_NEXT_QUEUE,
    IVR_PRIORITY,
    IVR_QUEUE,
    IVR_QUEUE_TIMEOUT,
    IVR_RECORD,
    IVR_RESULT,
    IVR_SURVEY,
    IVR_TAG_PREFIX,
    IVR_TARGET,
    IVR_TRANSFER_QUEUE,
)
from ivr.engine.interpreter import CallResult, run_call
from ivr.engine.nodes.collect import shown_digits
from ivr.engine.trace import TraceStep
from ivr.entrypoints.callback_request import take_request
from ivr.events import names
from ivr.queues.overflow import Placement
from ivr.queues.priority import REPEAT_REASON
from ivr.recordings.consent import ask_consent
from ivr.recordings.policy import recording_for
from ivr.steering.source import AstdbSteering
from ivr.survey.dialogue import offer

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App
    from ivr.calls import ActiveCall
    from ivr.config import ConfigSet


async def handle(app: App, session: AgiSession) -> None:
    config = app.config.current  # the call keeps this version even if a reload happens meanwhile
    call = app.calls.start(session, route="inbound")
    log = call.log
    dialled = session.headers.get("dnid") or session.headers.get("extension", "")
    plan = config.plan_for_number(dialled) or config.plan_for_number(config.rules.main_number)
    if plan is None:
        log.error("no plan answers this number; the dialplan's fallback takes the call")
        return
    channel = AgiChannel(session)
    now = await app.clock.now_for(session)
    app.events.emit(names.CALL_STARTED, call, plan=plan.name, dialled=dialled if dialled in plan.numbers else "",
                    caller_ref=call.caller_ref)

    def on_step(step: TraceStep) -> None:
        # Debug only: "menu finished" lists the path, and the call record keeps it (a line per node
        # was most of the daemon's logging work per call, issue #13).
        log.debug("node entered", node=step.node, kind=step.kind)
        app.events.emit(names.IVR_NODE, call, node=step.node, kind=step.kind)

    # A citizen the city tried to reach is offered a connection first (docs/privacy-and-caller-id.md).
    result = await offer_connection(app.contacts, app.events, call, channel, config, plan) \
        or await run_call(config, plan, channel, now=now, on_step=on_step, steering=AstdbSteering.for_inbound(session))
    call.finish_menu(result)
    summary = result.as_dict()
    if any(step.kind == "language" for step in result.steps):
        app.events.emit(names.LANGUAGE_CHOSEN, call, language=result.language)
    going_on = result.outcome is not None and not result.hung_up
    placement, priority = await _place(app, config, result, now, call.caller_hash,
                                       returning=bool(call.extra.get("returning"))) if going_on else (None, 0)
    # What the agent's screen pop shows comes from here (ivr.desktop.calls): the keyed digits (never a
    # number) and whether the caller called again shortly before (the queue priority's boost).
    digits = shown_digits(plan.nodes.values(), result.variables,
                          lambda keys: bool(call.caller_hash) and app.hasher.digest(keys) == call.caller_hash)
    app.events.emit(names.MENU_FINISHED, call, outcome=summary["outcome"], queue=summary["queue"],
                    group=summary["group"], target=summary["target"], reason=summary["reason"],
                    language=result.language, tags=result.tags, nodes=result.nodes,
                    config_version=result.config_version, digits=digits,
                    repeat_caller=placement is not None and REPEAT_REASON in placement.reasons)
    if going_on and result.outcome is not None and result.outcome.kind == "callback" and result.outcome.group:
        await take_request(app, session, call, config, result.outcome.group, result.language, now)
    if going_on:
        if placement is not None:
            log.info("queue placement", group=placement.group, queue=placement.queue, priority=priority,
                     timeout=placement.timeout, next_queue=placement.next_queue,
                     callback_offered=placement.offer_callback, reasons=list(placement.reasons))
        try:
            survey = await _offer_survey(app, config, channel, call, result, placement)
        except CallerHungUp:
            log.info("caller hung up during the survey offer")
            return
        record = await _consent(app, config, result, placement, channel, call)
        await publish_outcome(channel, result, placement, priority, survey=survey, record=record)
    log.info("menu finished", outcome=result.outcome.kind if result.outcome else "abandoned",
             queue=result.outcome.queue if result.outcome else None, language=result.language,
             nodes=result.nodes, config_version=result.config_version)


async def _place(app: App, config: ConfigSet, result: CallResult, now: dt.datetime, caller_hash: str, *,
                 returning: bool) -> tuple[Placement | None, int]:
    """Skills, overflow and priority for a call heading for a group (ivr.queues.routing), on the config
    version the call started on: a reload during the menu must not mix two versions in one call."""
    outcome = result.outcome
    if outcome is None or outcome.kind != "queue" or not outcome.group:
        return None, 0
    try:
        return await app.queues.route(config, outcome.group, result.language, now,
                                      priority=outcome.priority, caller_hash=caller_hash, returning=returning)
    except Exception:  # the menu's own queue is always a safe answer
        structlog.get_logger("ivr.queues").exception("queue placement failed; the menu's queue is used")
        return None, outcome.priority


async def _offer_survey(app: App, config: ConfigSet, channel: AgiChannel, call: ActiveCall, result: CallResult,
                        placement: Placement | None) -> bool:
    """A caller bound for a group that runs the after-call survey is asked whether they take part."""
    if placement is None or placement.closed_prompt or result.outcome is None or result.outcome.kind != "queue":
        return False
    group = config.groups.get(placement.group)
    if group is None or group.survey is None:
        return False
    agreed = await offer(channel, result.language, group.survey.wait_s)
    call.log.info("survey offered", group=placement.group, agreed=agreed)
    if agreed:
        app.events.emit(names.SURVEY_OPTED_IN, call, group=placement.group)
    return agreed


async def _consent(app: App, config: ConfigSet, result: CallResult, placement: Placement | None,
                   channel: AgiChannel, call: ActiveCall) -> str:
    """Recording (docs/recordings.md): asked or announced before the caller is queued; the recording's
    id for the dialplan's MixMonitor, or "" (not recorded: off, forbidden, declined, or no store)."""
    outcome = result.outcome
    if app.recordings is None or outcome is None or outcome.kind != "queue" or not outcome.group \
            or (placement is not None and placement.closed_prompt):
        return ""
    group_name = placement.group if placement is not None else outcome.group
    recording = recording_for(config, group_name)
    if recording is None:
        return ""
    consent = await ask_consent(channel, recording, result.language)
    log = structlog.get_logger("ivr.recordings").bind(uniqueid=call.uniqueid)
    if consent is None:
        log.info("recording declined by the caller", group=group_name)
        return ""
    group = config.groups[group_name]
    recording_id = await app.recordings.begin(
        uniqueid=call.uniqueid, group=group_name, department=group.department or None,
        caller_hash=call.caller_hash, retention_days=recording.retention_days,
        consent=consent)
    log.info("recording", group=group_name, consent=consent, recording=recording_id)
    return recording_id or ""


async def publish_outcome(channel: AgiChannel, result: CallResult, placement: Placement | None = None,
                          priority: int | None = None, *, survey: bool = False, record: str = "") -> None:
    """Tell the dialplan what to do. IVR_RESULT goes last: a session that dies half-way leaves it empty."""
    outcome = result.outcome
    assert outcome is not None
    await channel.set_variable(IVR_LANG, result.language)
    await channel.set_variable(IVR_CONFIG_VERSION, result.config_version)
    for name, value in sorted(result.tags.items()):
        await channel.set_variable(f"{IVR_TAG_PREFIX}{name.upper()}", value)
    if outcome.kind == "queue" and placement is not None and placement.closed_prompt:
        await channel.play(f"ivr/{result.language}/{placement.closed_prompt}", interrupt_keys="")
        await channel.set_variable(IVR_RESULT, "hangup")
    elif outcome.kind == "queue" and outcome.queue:
        await channel.set_variable(IVR_QUEUE, placement.queue if placement else outcome.queue)
        await channel.set_variable(IVR_PRIORITY, str(outcome.priority if priority is None else priority))
        if placement is not None:
            if placement.timeout is not None:
                await channel.set_variable(IVR_QUEUE_TIMEOUT, str(placement.timeout))
            if placement.next_queue:
                await channel.set_variable(IVR_NEXT_QUEUE, placement.next_queue)
            if placement.offer_callback:
                await channel.set_variable(IVR_CALLBACK_OFFER, "1")
            if placement.max_penalty is not None:
                await channel.set_variable(IVR_MAX_PENALTY, str(placement.max_penalty))
        if survey:
            await channel.set_variable(IVR_SURVEY, "1")
        if record:
            await channel.set_variable(IVR_RECORD, record)
        await channel.set_variable(IVR_RESULT, "queue")
    elif outcome.kind == "transfer" and outcome.target:
        await channel.set_variable(IVR_TARGET, outcome.target)
        if outcome.queue:  # where the caller waits when the target does not answer (else kc-general)
            await channel.set_variable(IVR_TRANSFER_QUEUE, outcome.queue)
        await channel.set_variable(IVR_RESULT, "transfer")
    else:
        await channel.set_variable(IVR_RESULT, "hangup")
