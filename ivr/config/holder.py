"""The live configuration: a reload builds and checks a whole new set, then swaps it in one step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from ivr.config.diff import reload_summary
from ivr.config.loader import ConfigSet
from ivr.config.problems import ConfigError, Problem


@dataclass(frozen=True)
class ReloadReport:
    ok: bool
    old_version: str
    new_version: str
    problems: tuple[Problem, ...] = ()


# Loads and checks a whole config (`ivr.validate.load_config`); raises ConfigError.
Load = Callable[[Sequence[str | Path]], ConfigSet]


class ConfigHolder:
    def __init__(self, paths: Sequence[str | Path], load: Load, initial: ConfigSet | None = None) -> None:
        self.paths = list(paths)
        self._load = load
        # Calls read `current` once when they start and keep that object: swapping never changes a running call.
        self.current: ConfigSet = initial or load(self.paths)
        self._log = structlog.get_logger("ivr.config")

    def reload(self) -> ReloadReport:
        old = self.current
        try:
            new = self._load(self.paths)
        except ConfigError as exc:
            self._log.error("reload refused; keeping the last good config", version=old.version,
                            problems=[p.format() for p in exc.problems])
            return ReloadReport(False, old.version, old.version, exc.problems)
        self.current = new
        self._log.info("config reloaded", old_version=old.version, new_version=new.version,
                       changes=reload_summary(old, new))
        return ReloadReport(True, old.version, new.version)
