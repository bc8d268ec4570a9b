"""`agi://…/survey`: the agent hung up on a caller who agreed to the after-call survey ([ivr-survey]).

The caller hears the question in their language (the channel's, set from IVR_LANG when they were
queued) and keys 1-5; the score goes into the call record through the `survey_answered` event (the
same uniqueid as the call). A caller who hangs up instead leaves no score; the dialplan hangs up after
this route whatever happens here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.agi.channel import AgiChannel
from ivr.channel import CallerHungUp
from ivr.dialplan_variables import IVR_QUEUED, IVR_SURVEY
from ivr.events import names
from ivr.queues.membership import group_of_queue
from ivr.survey.dialogue import ask

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App


async def _variable(session: AgiSession, name: str) -> str:
    reply = await session.command("GET VARIABLE", name)
    return (reply.data or "").strip() if reply.result == "1" else ""


async def handle(app: App, session: AgiSession) -> None:
    call = app.calls.start(session, route="survey")
    config = app.config.current
    if await _variable(session, IVR_SURVEY) != "1":  # only a caller who said yes is asked
        call.log.warning("survey route reached without the caller's consent; nothing asked")
        return
    language = session.headers.get("language", "sv")
    language = language if language in config.rules.languages else "sv"
    queue = (await _variable(session, IVR_QUEUED))[:64]
    group = group_of_queue(config, queue)
    try:
        score = await ask(AgiChannel(session), language)
    except CallerHungUp:
        call.log.info("caller hung up during the survey; no score", queue=queue)
        return
    if score is None:
        call.log.info("survey not answered with a key 1-5; no score", queue=queue, language=language)
        return
    call.log.info("survey answered", score=score, queue=queue, group=group, language=language)
    app.events.emit(names.SURVEY_ANSWERED, call, score=score, queue=queue, group=group or "")
