"""The dialplan's table for when the daemon is down: AstDB family `ivr_callerid`, one key per phone.

For every official's and agent's extension the daemon writes the decision it would make for a call
without a purpose, as `<CALLERID(pres)>:<CALLERID(num)>` (e.g. `allowed_not_screened:+4640342101`).
The dialplan's [ivr-outbound-fallback] reads it when the daemon does not answer, so a call still shows
the board's default (the official's direct line), and a withheld official stays withheld. AstDB lives
on Asterisk's disk, so the table outlasts the daemon. It is rewritten after every AMI login and
whenever the config version changes (a reload).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from ivr.ami.errors import AmiError
from ivr.callerid.directory import identify
from ivr.callerid.policy import decide
from ivr.config.holder import ConfigHolder
from ivr.config.loader import ConfigSet

FAMILY = "ivr_callerid"


def fallback_entries(config: ConfigSet) -> dict[str, str]:
    """extension -> "pres:number" for every known phone."""
    extensions = [o.extension for o in config.officials.values()] + [a.extension for a in config.agents.values()]
    entries: dict[str, str] = {}
    for extension in extensions:
        placer = identify(config, extension)
        if placer is not None:
            decision = decide(config, placer)
            entries[extension] = f"{decision.presentation}:{decision.number}"
    return entries


class FallbackTable:
    def __init__(self, ami: Any, config: ConfigHolder, *, check_every_s: float = 30.0, logger: Any = None) -> None:
        self.ami = ami
        self.config = config
        self.check_every_s = check_every_s
        self.synced_version = ""
        self._task: asyncio.Task[None] | None = None
        self._log = logger or structlog.get_logger("ivr.callerid")

    def attach(self) -> None:
        """Before the first AMI login, so that the first login writes the table too."""
        self.ami.on_reconnect(self.sync)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="callerid-fallback-table")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sync(self) -> None:
        config = self.config.current
        entries = fallback_entries(config)
        try:
            await self._action({"Action": "DBDelTree", "Family": FAMILY}, tolerate_missing=True)
            for extension, value in sorted(entries.items()):
                await self._action({"Action": "DBPut", "Family": FAMILY, "Key": extension, "Val": value})
        except AmiError as exc:
            self._log.warning("caller-ID fallback table not written; retrying later", error=str(exc))
            return
        self.synced_version = config.version
        self._log.info("caller-ID fallback table written", phones=len(entries), config_version=config.version)

    async def _action(self, fields: dict[str, str], *, tolerate_missing: bool = False) -> None:
        reply = await self.ami.action(fields)
        response = str(reply.get("Response", "") or "")
        message = str(reply.get("Message", "") or "")
        # DBDelTree of a family that does not exist yet answers Error "Database entry not found".
        if response.lower() != "success" and not (tolerate_missing and "not found" in message.lower()):
            raise AmiError(f"{fields['Action']} refused: {message}")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_every_s)
            if self.ami.connected and self.config.current.version != self.synced_version:
                await self.sync()
