"""The dialogue after a plan's `callback_request` node: the caller leaves a number to be called back
at the group's next opening (they called outside opening hours, or chose not to wait).

The caller confirms the number they call from or keys another (a withheld caller must key one);
the request is booked for the next opening of the group's `callback_requests.schedule` unless the
group already has `per_day` requests for that day. Whatever happens the caller hears a message
before the call ends (booked, refused for the day, or not possible): never silence.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ivr.agi.channel import AgiChannel
from ivr.callbacks.numbers import callback_number
from ivr.callbacks.store import NewCallback
from ivr.calls import presented_caller
from ivr.channel import CallerHungUp
from ivr.entrypoints.callback import ask_number
from ivr.opening_hours import next_opening
from ivr.privacy import mask_number

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App
    from ivr.calls import ActiveCall
    from ivr.config import ConfigSet


def opening_day(opening: dt.datetime) -> tuple[float, float]:
    """The local day of an opening as [start, end) epoch seconds: the span the daily limit counts."""
    start = dt.datetime.combine(opening.date(), dt.time(), tzinfo=opening.tzinfo)
    end = dt.datetime.combine(opening.date() + dt.timedelta(days=1), dt.time(), tzinfo=opening.tzinfo)
    return start.timestamp(), end.timestamp()


async def take_request(app: App, session: AgiSession, call: ActiveCall, config: ConfigSet, group_name: str,
                       language: str, now: dt.datetime) -> bool:
    """Run the dialogue and book the request; True when booked. The caller has heard why in any case."""
    channel = AgiChannel(session)

    async def say(prompt: str, keys: str = "") -> str:
        return await channel.play(f"ivr/{language}/{prompt}", interrupt_keys=keys)

    group = config.groups.get(group_name)
    rules = group.callback_requests if group is not None else None
    opening = next_opening(config.rules.schedules[rules.schedule], now) \
        if rules is not None and rules.schedule in config.rules.schedules else None
    service = app.callbacks
    if group is None or rules is None or opening is None or service is None or not service.store_open:
        call.log.warning("callback request not possible", group=group_name, service=service is not None)
        await say("callback-request-unavailable")
        return False
    try:
        number = await ask_number(session, channel, say, callback_number(presented_caller(session.headers)),
                                  confirm="callback-confirm-request")
        if number is None:
            call.log.info("callback request not confirmed")
            await say("callback-not-booked")
            return False
        booked_at = service.clock()
        keep = config.rules.queueing.callback.keep_hours * 3600
        due = max(opening.timestamp(), booked_at)
        new = NewCallback(queue=group.queue, group=group_name, language=language, priority=group.priority,
                          position=None, joined_at=booked_at, caller_ref=app.hasher.short(number),
                          origin_uniqueid=session.uniqueid, expires_at=due + keep, kind="request", due_at=due)
        try:
            booked = await service.book_request(new, number, per_day=rules.per_day, day=opening_day(opening))
        except Exception:  # the store failed: the caller still hears that it did not work
            call.log.exception("callback request could not be stored")
            booked = None
        if booked == "full":
            await say("callback-limit")
            return False
        if booked is None:
            await say("callback-request-unavailable")
            return False
        call.log.info("callback request left", callback_id=booked.id, number=mask_number(number),
                      group=group_name, opening=opening.isoformat())
        await say("callback-booked")
        return True
    except CallerHungUp:
        call.log.info("caller hung up during the callback request")
        return False
