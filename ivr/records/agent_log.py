"""AgentLog: an EventSink that keeps what `ivr report --agents` needs about agents in `agent_events`.

The AMI bridge already turns QueueMemberAdded/Removed/Pause/Status, AgentCalled/Connect/Complete into
`agent_state` (sent on every change: state, pause reason, queues) and AgentRingNoAnswer into
`agent_ring_ended`; this sink stores those two as they come, so no second AMI follower is needed.
Calls handled, talk and wrap-up come from the call records. At a clean stop it writes a `stopped`
row: from then until the next start (whose re-synchronisation announces every agent again) nothing
is known, so no time is counted. Rows go through a `RecordWriter` (its own spool file), so a
database outage never makes an event wait and loses nothing.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivr.events import names
from ivr.records import agent_store
from ivr.records.writer import RecordWriter

if TYPE_CHECKING:
    from ivr.calls import ActiveCall

STATE, RING_NO_ANSWER, STOPPED = "state", "ring_no_answer", "stopped"


class AgentLog:
    def __init__(self, url: str, spool_path: Path, *, write_timeout_s: float = 15.0,
                 clock: Callable[[], float] = time.time, writer: RecordWriter | None = None) -> None:
        self.writer = writer or RecordWriter(url, spool_path, write_timeout_s=write_timeout_s,
                                             write=agent_store.insert, key="id")
        self._clock = clock
        self._seq = itertools.count()
        # Row ids: unique across daemon runs and daemons (a random prefix) and within one run (a counter,
        # zero-padded so that rows written in the same instant sort in the order they came).
        self._run = uuid.uuid4().hex[:12]

    def emit(self, event: str, call: ActiveCall | None = None, **data: Any) -> None:
        if event == names.AGENT_STATE:
            self._submit(STATE, str(data.get("agent") or ""), state=str(data.get("state") or ""),
                         reason=str(data.get("reason") or ""),
                         queues=json.dumps(sorted(str(q) for q in data.get("queues") or [])))
        elif event == names.AGENT_RING_ENDED:
            self._submit(RING_NO_ANSWER, str(data.get("agent") or ""), queue=data.get("queue") or None,
                         uniqueid=data.get("uniqueid") or None, ring_s=_float(data.get("ring_s")))

    async def start(self) -> None:
        await self.writer.start()

    async def stop(self) -> None:
        self._submit(STOPPED, "")
        await self.writer.stop()

    def _submit(self, kind: str, agent: str, **fields: Any) -> None:
        if not agent and kind != STOPPED:
            return
        row: dict[str, Any] = {"id": f"{self._run}-{next(self._seq):09d}", "at": self._clock(), "agent": agent,
                               "kind": kind, "queues": "[]", **fields}
        self.writer.submit(row)


def _float(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None
