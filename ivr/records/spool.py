"""A local write-ahead file for records the database could not take (JSON lines, append-only).

Each line is `{"v": 1, "row": {...}}`. A line cut short by a crash is skipped on reading; rows are
replayed in file order, and the database's `updated_at` guard makes a replay harmless to repeat.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import structlog

VERSION = 1


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __bool__(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def append(self, rows: Iterable[Mapping[str, Any]]) -> int:
        lines = [json.dumps({"v": VERSION, "row": dict(row)}, ensure_ascii=False) + "\n" for row in rows]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # 0600: the spool holds call records (no numbers, but still about people's calls).
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        return len(lines)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        rows: list[dict[str, Any]] = []
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    entry = json.loads(line)
                    rows.append(dict(entry["row"]))
                except (ValueError, KeyError, TypeError):
                    structlog.get_logger("ivr.records").warning("spool line skipped", line=number)
        return rows

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
