"""`agi://…/outbound`: every call an official or agent places to a citizen gets its caller ID here.

The dialplan ([ivr-outbound] in asterisk-config/extensions.conf) runs
`AGI(agi://…/outbound,<dialled>,<the phone's extension>,<IVR_OUT_PURPOSE>)`, where dialled is a number or
*8<purpose code><number>. The route decides what the citizen sees (ivr.callerid),
sets CALLERID(num/name/pres) and the IVR_OUT_* variables, registers the attempt when the number shown
leads back to the contact center, publishes the pre-call notice, and returns; IVR_OUT_RESULT=dial is
set last, so a session that dies half-way leaves the dialplan on its fallback (the board's default).

How the dial ended comes back later, from a hangup handler's AMI UserEvent (ivr.contacts.dial_end); only
calls with a registered attempt push that handler.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from ivr.agi.channel import AgiChannel
from ivr.callerid.dialled import Dialled, parse_dialled, resolve_purpose
from ivr.callerid.directory import Placer, identify
from ivr.callerid.policy import Decision, decide
from ivr.channel import CallerHungUp
from ivr.contacts.store import Attempt, new_attempt_id
from ivr.dialplan_variables import (
    IVR_OUT_ATTEMPT,
    IVR_OUT_DEPARTMENT,
    IVR_OUT_NUMBER,
    IVR_OUT_PURPOSE,
    IVR_OUT_RESULT,
    IVR_OUT_SHOWN,
)
from ivr.privacy import mask_number

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App
    from ivr.calls import ActiveCall
    from ivr.config.loader import ConfigSet

_EXTENSION = re.compile(r"^[0-9]{2,8}$")


async def handle(app: App, session: AgiSession) -> None:
    config = app.config.current
    call = app.calls.start(session, route="outbound")
    args = (*session.args, "", "", "")  # dialled, the phone's extension, the purpose set on the channel
    dialled, extension = parse_dialled(args[0]), args[1]
    if dialled is None or not (extension == "" or _EXTENSION.fullmatch(extension)):
        call.log.warning("outbound call not understood; the dialplan's fallback decides")
        return
    placer = identify(config, extension)
    if placer is None:
        call.log.warning("outbound call from an unknown extension; the dialplan's fallback decides",
                         extension=extension)
        return
    purpose = resolve_purpose(config, code=dialled.purpose_code, ident=args[2])
    if dialled.purpose_code and purpose is None:
        call.log.info("unknown purpose code; the call has no purpose", code=dialled.purpose_code)
    decision = decide(config, placer, purpose)
    attempt = _attempt(app, config, placer, decision, dialled, purpose)
    try:
        await _publish(AgiChannel(session), decision, dialled, placer, purpose, attempt)
    except CallerHungUp:
        call.log.info("official hung up before the call was placed")
        return
    if attempt is not None and app.contacts is not None:
        app.contacts.registry.record(attempt)
    _notify_before_call(app, config, placer, decision, dialled, call)
    call.log.info("outbound caller ID decided", placer=placer.ident or placer.kind, shown=decision.effective,
                  decided_by=decision.decided_by, purpose=purpose, to=mask_number(dialled.number),
                  attempt=attempt.attempt_id if attempt else None)


def _attempt(app: App, config: ConfigSet, placer: Placer, decision: Decision, dialled: Dialled,
             purpose: str | None) -> Attempt | None:
    """The registry entry, when calling the shown number back reaches the contact center."""
    if not decision.leads_back or app.contacts is None:
        return None
    now = time.time()
    department = config.departments.get(placer.department or "")
    retention_s = config.rules.contact_registry.retention_days * 86400
    return Attempt(attempt_id=new_attempt_id(), number_hash=app.hasher.digest(dialled.number), attempted_at=now,
                   expires_at=now + retention_s, placer_kind=placer.kind, placer=placer.ident,
                   department=placer.department, disclosure=department.disclosure if department else "none",
                   shown=decision.effective, purpose=purpose)


async def _publish(channel: AgiChannel, decision: Decision, dialled: Dialled, placer: Placer, purpose: str | None,
                   attempt: Attempt | None) -> None:
    """What the dialplan acts on; IVR_OUT_RESULT last."""
    await channel.set_variable("CALLERID(num)", decision.number)
    await channel.set_variable("CALLERID(name)", decision.name)
    await channel.set_variable("CALLERID(pres)", decision.presentation)
    await channel.set_variable(IVR_OUT_NUMBER, dialled.number)
    await channel.set_variable(IVR_OUT_SHOWN, decision.effective)
    await channel.set_variable(IVR_OUT_PURPOSE, purpose or "")
    await channel.set_variable(IVR_OUT_DEPARTMENT, placer.department or "")
    await channel.set_variable(IVR_OUT_ATTEMPT, attempt.attempt_id if attempt else "")
    await channel.set_variable(IVR_OUT_RESULT, "dial")


def _notify_before_call(app: App, config: ConfigSet, placer: Placer, decision: Decision, dialled: Dialled,
                        call: ActiveCall) -> None:
    department = config.departments.get(placer.department or "")
    if department is None or not department.precall_notice or app.contacts is None or placer.department is None:
        return
    shown = None if decision.effective == "withheld" else decision.number
    app.contacts.precall.notify(number=dialled.number, department=placer.department, shown_number=shown,
                                call_ref=call.uniqueid)

