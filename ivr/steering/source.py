"""Where a call learns what is switched and which messages exist: the live AstDB of the Asterisk the
call is on (read over the call's own FastAGI session), or a fixed set (`ivr simulate`, tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

import structlog

from ivr.agi.errors import AgiHangup
from ivr.channel import CallerHungUp
from ivr.steering.entry import FAMILY, Entry, Kind, key_for, parse_value

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession


class SteeringSource(Protocol):
    async def entry(self, kind: Kind, queue: str | None) -> Entry | None:
        """The switch or message for the whole line (queue None) or one group's queue, if any."""


class FixedSteering:
    """A set of entries known in advance."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: Mapping[str, Entry] = {entry.key: entry for entry in entries}

    async def entry(self, kind: Kind, queue: str | None) -> Entry | None:
        return self._entries.get(key_for(kind, queue))


class AstdbSteering:
    """Reads AstDB with the call's `DATABASE GET`: the same keys the dialplan reads, so the daemon and
    the dialplan never disagree about what is set. A failed read counts as nothing set."""

    def __init__(self, session: AgiSession) -> None:
        self._session = session
        self._log = structlog.get_logger("ivr.steering").bind(uniqueid=session.uniqueid)

    async def entry(self, kind: Kind, queue: str | None) -> Entry | None:
        key = key_for(kind, queue)
        try:
            reply = await self._session.command("DATABASE GET", FAMILY, key, timeout=5.0)
        except AgiHangup as exc:
            raise CallerHungUp(str(exc)) from exc
        except Exception:
            self._log.warning("steering.read_failed", key=key)
            return None
        if reply.code != 200 or reply.result != "1":
            return None
        found = parse_value(kind, queue, reply.data or "")
        if found is None:
            self._log.warning("steering.bad_value", key=key)
        return found
