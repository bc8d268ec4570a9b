"""Where a call learns what is switched and which messages exist: the live AstDB of the Asterisk the
call is on (read over the call's own FastAGI session), or a fixed set (`ivr simulate`, tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

import structlog

from ivr.agi.errors import AgiHangup
from ivr.channel import CallerHungUp
from ivr.dialplan_variables import INBOUND_ARG_STEERING
from ivr.steering.entry import FAMILY, KINDS, Entry, Kind, key_for, parse_value

if TYPE_CHECKING:
    from ivr.agi.protocol import AgiReply
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
    """Reads AstDB with the call's own AGI commands: the same keys the dialplan reads, so the daemon and
    the dialplan never disagree about what is set. A failed read counts as nothing set.

    Most calls meet no steering at all, so the reads are skipped where AstDB is known to hold nothing:
    the line's entries when the dialplan found the family empty as the call came in (`line_empty`, from
    [ivr-entry]'s argument), a group's when one look at the keys below `switch/queue` and
    `message/queue` (a single command, when the caller reaches the group) does not list its queue."""

    def __init__(self, session: AgiSession, *, line_empty: bool = False) -> None:
        self._session = session
        self._line_empty = line_empty
        self._queues: dict[Kind, frozenset[str]] | None = None
        self._queues_read = False  # looked once per call, whatever the answer
        self._log = structlog.get_logger("ivr.steering").bind(uniqueid=session.uniqueid)

    @classmethod
    def for_inbound(cls, session: AgiSession) -> AstdbSteering:
        args = session.args
        hint = args[INBOUND_ARG_STEERING] if len(args) > INBOUND_ARG_STEERING else ""
        return cls(session, line_empty=hint == "0")

    async def entry(self, kind: Kind, queue: str | None) -> Entry | None:
        if queue is None and self._line_empty:
            return None
        if queue is not None:
            listed = await self._queues_with_entries()
            if listed is not None and queue not in listed[kind]:
                return None
        key = key_for(kind, queue)
        reply = await self._command("DATABASE GET", FAMILY, key)
        if reply is None or reply.code != 200 or reply.result != "1":
            return None
        found = parse_value(kind, queue, reply.data or "")
        if found is None:
            self._log.warning("steering.bad_value", key=key)
        return found

    async def _queues_with_entries(self) -> dict[Kind, frozenset[str]] | None:
        """The queues that have a switch and a message in AstDB (None: unknown, read each key)."""
        if not self._queues_read:
            self._queues_read = True
            expression = "|".join(f"${{DB_KEYS({FAMILY}/{kind}/queue)}}" for kind in KINDS)
            reply = await self._command("GET FULL VARIABLE", expression)
            if reply is not None and reply.code == 200 and reply.result == "1" and reply.data is not None \
                    and reply.data.count("|") == len(KINDS) - 1:
                self._queues = {kind: frozenset(filter(None, listed.split(",")))
                                for kind, listed in zip(KINDS, reply.data.split("|"), strict=True)}
        return self._queues

    async def _command(self, name: str, *args: str) -> AgiReply | None:
        try:
            return await self._session.command(name, *args, timeout=5.0)
        except AgiHangup as exc:
            raise CallerHungUp(str(exc)) from exc
        except Exception:
            self._log.warning("steering.read_failed", command=name, args=list(args))
            return None
