"""AMI event callbacks by name pattern, each isolated: one that raises is logged, never fatal.

panoramisk's dispatch lets a raising callback drop the whole connection, and matches every event
against every pattern; here the match per event name is cached.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import inspect
import re

from structlog.typing import FilteringBoundLogger

from ivr.ami.port import EventCallback
from ivr.ami.reply import AmiHeaders

# Event names are a small fixed set; the bound only guards against a peer inventing names.
_CACHE_LIMIT = 2048


class EventDispatcher:
    def __init__(self, logger: FilteringBoundLogger) -> None:
        self._log = logger
        self._patterns: list[tuple[re.Pattern[str], list[EventCallback]]] = []
        self._by_name: dict[str, tuple[EventCallback, ...]] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self.patterns: list[str] = []  # as given to add(), in order

    def add(self, pattern: str, callback: EventCallback) -> None:
        """`pattern` is a shell-style, case-insensitive event name: `QueueMember*`, `*`."""
        self.patterns.append(pattern)
        regex = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
        for known, callbacks in self._patterns:
            if known.pattern == regex.pattern:
                callbacks.append(callback)
                break
        else:
            self._patterns.append((regex, [callback]))
        self._by_name.clear()

    def dispatch(self, event: AmiHeaders) -> None:
        """Run the callbacks for one event; never raises."""
        name = event.get("Event")
        if not isinstance(name, str):
            return
        for callback in self._callbacks_for(name):
            try:
                result = callback(event)
            except Exception:
                self._log.exception("ami.callback_failed", ami_event=name, callback=_name_of(callback))
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(functools.partial(self._finished, name=name, callback=callback))

    async def close(self) -> None:
        """Cancel callbacks still running."""
        tasks, self._tasks = set(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)

    def _callbacks_for(self, name: str) -> tuple[EventCallback, ...]:
        found = self._by_name.get(name)
        if found is None:
            found = tuple(cb for regex, cbs in self._patterns if regex.match(name) for cb in cbs)
            if len(self._by_name) >= _CACHE_LIMIT:
                self._by_name.clear()
            self._by_name[name] = found
        return found

    def _finished(self, task: asyncio.Future[None], *, name: str, callback: EventCallback) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._log.error("ami.callback_failed", ami_event=name, callback=_name_of(callback), exc_info=error)


def _name_of(callback: object) -> str:
    return str(getattr(callback, "__qualname__", None) or repr(callback))
