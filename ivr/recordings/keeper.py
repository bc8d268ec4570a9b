"""The daemon's side of recordings: a row for each call the caller agreed to have recorded, sealing the
clear file as soon as the call has hung up (AMI `Hangup`), and a sweep every `sweep_s` that seals what a
missed event or a restart left behind and deletes what is past its retention (audited as `expire`).

Clear audio exists only while the call lasts plus `settle_s` (MixMonitor closes its file just after
the hangup), or until the next sweep when the daemon was down at the hangup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.ami.port import AmiPort
from ivr.ami.reply import AmiHeaders
from ivr.recordings import access, store
from ivr.recordings.store import RecordingRow, new_recording_id
from ivr.recordings.vault import RecordingVault
from ivr.store.db import AsyncDatabase, Database, open_database
from ivr.tasks import cancel_and_wait

DAEMON_ACTOR = "daemon"
# A clear file no call is writing any more: untouched this long, the sweep seals it.
STALE_CLEAR_S = 60.0
# A row without a clear file may belong to a call still waiting in the queue (MixMonitor's `b` writes
# nothing before the agent answers); after this long it is marked `missing`.
NEVER_ANSWERED_S = 4 * 3600.0


class RecordingKeeper:
    def __init__(self, url: str, vault: RecordingVault, *, sweep_s: float = 3600.0, settle_s: float = 1.0,
                 clock: Callable[[], float] = time.time, logger: FilteringBoundLogger | None = None) -> None:
        self.url = url
        self.vault = vault
        self.sweep_s = sweep_s
        self.settle_s = settle_s
        self.clock = clock
        self.sweeps = 0
        self._db: AsyncDatabase | None = None
        self._live: dict[str, list[str]] = {}  # channel uniqueid -> its recordings being written
        self._task: asyncio.Task[None] | None = None
        self._sealing: set[asyncio.Task[None]] = set()
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.recordings")

    def attach(self, ami: AmiPort) -> None:
        ami.on_event("Hangup", self.on_hangup)

    async def start(self) -> None:
        self._db = AsyncDatabase(await asyncio.to_thread(open_database, self.url))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="recordings-sweep")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._sealing:
            await asyncio.wait(self._sealing, timeout=10)
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def begin(self, *, uniqueid: str, group: str, department: str | None, caller_hash: str,
                    retention_days: int, consent: str) -> str | None:
        """A recording id for the dialplan's MixMonitor, or None (not recorded) when the row cannot be
        written: audio the store does not know of could never be found, exported or erased."""
        if self._db is None or not uniqueid:
            return None
        now = self.clock()
        row = RecordingRow(new_recording_id(), uniqueid, now, now + retention_days * 86400, group, department,
                           caller_hash or None, consent, "recording", None, None)
        try:
            await asyncio.wait_for(self._db.run(lambda db: store.add(db, row)), timeout=5)
        except Exception as exc:
            self._log.error("recording not started: its row could not be written", error=type(exc).__name__)
            return None
        self._live.setdefault(uniqueid, []).append(row.recording_id)
        return row.recording_id

    def on_hangup(self, message: AmiHeaders) -> None:
        ids = self._live.pop(str(message.get("Uniqueid", "")), [])
        for recording_id in ids:
            task = asyncio.get_running_loop().create_task(self._seal_when_closed(recording_id),
                                                          name="recording-seal")
            self._sealing.add(task)
            task.add_done_callback(self._sealing.discard)

    async def _seal_when_closed(self, recording_id: str) -> None:
        """MixMonitor closes the file just after the hangup: seal it once its size has stopped changing."""
        clear = self.vault.clear_path(recording_id)
        last, deadline = -1, time.monotonic() + 30
        while time.monotonic() < deadline:
            await asyncio.sleep(self.settle_s)
            size = clear.stat().st_size if clear.exists() else -1
            if size == last:
                break
            last = size
        await self.seal(recording_id)

    async def seal(self, recording_id: str) -> None:
        if self._db is None:
            return
        try:
            size = await asyncio.to_thread(self.vault.seal, recording_id)
            now = self.clock()
            state = "stored" if size is not None else "missing"
            await self._db.run(lambda db: store.mark(db, recording_id, state, sealed_at=now, size_bytes=size))
        except Exception:
            self._log.exception("recording not sealed; the next sweep tries again", recording=recording_id)
            return
        self._log.info("recording sealed" if size is not None else "recording has no audio (never answered)",
                       recording=recording_id, bytes=size)

    async def sweep(self) -> int:
        """Seal stragglers, then delete what is past its retention; how many were deleted."""
        if self._db is None:
            return 0
        live = {rid for ids in self._live.values() for rid in ids}
        for row in await self._db.run(store.unsealed):
            if row.recording_id in live:
                continue
            clear = self.vault.clear_path(row.recording_id)
            if (clear.exists() and time.time() - clear.stat().st_mtime > STALE_CLEAR_S) \
                    or (not clear.exists() and self.clock() - row.created_at > NEVER_ANSWERED_S):
                await self.seal(row.recording_id)
        now = self.clock()

        def purge(db: Database) -> int:
            return access.purge_expired(db, self.vault, actor=DAEMON_ACTOR, now=now)

        deleted = await self._db.run(purge)
        self.sweeps += 1
        self._log.info("recordings retention sweep", deleted=deleted)
        return deleted

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:
                self._log.error("recordings sweep failed; next try at the next interval", error=type(exc).__name__)
            await asyncio.sleep(self.sweep_s)
