"""`agi://…/callback,<step>`: queued callbacks ("ring upp mig"), in two steps.

- `request`: a waiting caller pressed 1 ([ivr-queue-exit]). They confirm the number they call from
  or enter another; the service puts a stand-in in their place; IVR_RESULT=callback lets them hang
  up. Anything else (they change their mind, no valid number, the stand-in cannot be placed) leaves
  IVR_RESULT alone and the dialplan puts them back in the queue at the same position.
- `connect`: an agent answered the stand-in ([ivr-callback-connect], exten cb<id>): the number to
  dial (IVR_CB_TARGET), set only now and only on this channel, with the main number to show.
How the call to the citizen ended comes back from a hangup handler over AMI (CallbackService).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ivr.agi.channel import AgiChannel
from ivr.callbacks.numbers import callback_number, last_digits
from ivr.callbacks.store import NewCallback
from ivr.calls import presented_caller
from ivr.channel import CallerHungUp
from ivr.dialplan_variables import (
    IVR_CB_CALLERID,
    IVR_CB_PLACEMENT,
    IVR_CB_RING,
    IVR_CB_TARGET,
    IVR_QUEUE_JOINED,
    IVR_QUEUED,
    IVR_RESULT,
)
from ivr.privacy import mask_number
from ivr.queues.membership import group_of_queue

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App

_CALLBACK_EXTEN = re.compile(r"^cb([0-9]{1,12})$")
_INT = re.compile(r"^[0-9]{1,6}$")
_EPOCH = re.compile(r"^[0-9]{9,11}(\.[0-9]+)?$")
_KEY_WAIT_S = 6.0
_DIGIT_WAIT_S = 8.0
_MAX_TRIES = 3
# Plays a prompt in the caller's language; returns the key that interrupted it.
Say = Callable[..., Awaitable[str]]


async def _variable(session: AgiSession, name: str) -> str:
    reply = await session.command("GET VARIABLE", name)
    return (reply.data or "").strip() if reply.result == "1" else ""


async def handle(app: App, session: AgiSession) -> None:
    step = session.args[0] if session.args else ""
    if step == "request":
        await _request(app, session)
    elif step == "connect":
        match = _CALLBACK_EXTEN.match(session.headers.get("extension", ""))
        if match is not None and app.callbacks is not None:
            await _connect(app, session, int(match[1]))


async def _request(app: App, session: AgiSession) -> None:
    call = app.calls.start(session, route="callback")
    config = app.config.current
    channel = AgiChannel(session)
    language = session.headers.get("language", "sv")
    language = language if language in config.rules.languages else "sv"
    queue = await _variable(session, IVR_QUEUED)
    group = group_of_queue(config, queue)

    async def say(prompt: str, keys: str = "") -> str:
        return await channel.play(f"ivr/{language}/{prompt}", interrupt_keys=keys)

    if app.callbacks is None or group is None:
        call.log.warning("callback asked but not possible", queue=queue[:64], service=app.callbacks is not None)
        await say("callback-unavailable")
        return
    try:
        number = await ask_number(session, channel, say, callback_number(presented_caller(session.headers)))
    except CallerHungUp:
        call.log.info("caller hung up during the callback dialogue")
        return
    if number is None:
        call.log.info("callback not confirmed; back to the queue")
        return
    position = await _variable(session, "QUEUEPOSITION")
    priority = await _variable(session, "QUEUE_PRIO")
    joined = await _variable(session, IVR_QUEUE_JOINED)
    now = time.time()
    keep = config.rules.queueing.callback.keep_hours * 3600
    new = NewCallback(queue=queue, group=group, language=language,
                      priority=int(priority) if _INT.match(priority) else 0,
                      position=int(position) if _INT.match(position) else None,
                      joined_at=float(joined) if _EPOCH.match(joined) and float(joined) <= now else now,
                      caller_ref=app.hasher.short(number), origin_uniqueid=session.uniqueid,
                      expires_at=now + keep)
    callback = await app.callbacks.request(new, number)
    if callback is None:
        await say("callback-unavailable")
        return
    call.log.info("callback booked", callback_id=callback.id, number=mask_number(number), queue=queue)
    await say("callback-confirmed")
    await channel.set_variable(IVR_RESULT, "callback")


async def ask_number(session: AgiSession, channel: AgiChannel, say: Say, known: str | None, *,
                     confirm: str = "callback-confirm") -> str | None:
    """The number the caller confirms: the one they call from, or one they enter (always, when the
    caller ID is withheld or not one we call). None: they pressed star or gave none."""
    candidate = known
    for _ in range(_MAX_TRIES):
        if candidate is None:
            entered = await _read_number(channel, say)
            candidate = callback_number(entered) if entered else None
            if candidate is None:
                if entered:
                    await say("callback-invalid-number")
                continue
        key = await say("callback-your-number", "*12")
        if not key:
            reply = await session.command("SAY DIGITS", last_digits(candidate), "*12")
            code = reply.result_int() if reply.code == 200 else 0
            key = chr(code) if code > 0 else ""
        key = key or await say(confirm, "*12") or await channel.wait_for_key(_KEY_WAIT_S)
        if key == "1":
            return candidate
        if key == "*":
            return None
        candidate = None if key == "2" else candidate
    return None


async def _read_number(channel: AgiChannel, say: Say) -> str:
    digits = await say("callback-enter-number", "0123456789#")
    while len(digits) < 16:
        key = await channel.wait_for_key(_DIGIT_WAIT_S)
        if key in ("", "#"):
            break
        digits += key
    return digits.rstrip("#") if re.fullmatch(r"[0-9]*#?", digits) else ""


async def _connect(app: App, session: AgiSession, callback_id: int) -> None:
    assert app.callbacks is not None
    # Which placement this stand-in is (a stand-in from before leases existed has none: no fence).
    placement = await _variable(session, IVR_CB_PLACEMENT)
    found = await app.callbacks.connect(callback_id, int(placement) if re.fullmatch(r"[0-9]{1,9}", placement) else None)
    if found is None:
        return
    _, number = found
    channel = AgiChannel(session)
    config = app.config.current
    await channel.set_variable(IVR_CB_RING, str(config.rules.queueing.callback.ring))
    # The contact center is who calls back: the citizen sees the main number.
    await channel.set_variable(IVR_CB_CALLERID, config.rules.main_number)
    await channel.set_variable(IVR_CB_TARGET, number)
