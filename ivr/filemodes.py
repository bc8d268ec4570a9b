"""Owner-only modes for what holds personal data, whatever the umask: the state folder (0700) and the
embedded database (0600; SQLite gives its -wal and -shm files the database file's mode)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents) and leave it 0700: a folder the umask made 0755 is tightened."""
    path.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if it is missing (an existing file is left as it is)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if it is missing, else tighten it to 0600."""
    create_private(path)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE:
        path.chmod(PRIVATE_FILE)
    return path


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///…` URL (None for PostgreSQL and for an in-memory database)."""
    if url.startswith(("postgresql://", "postgres://")):
        return None
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    return None if path == ":memory:" else Path(path)


def private_sqlite(url: str) -> None:
    """The embedded database and its WAL side files (if any yet) owner-only; its folder made if missing."""
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    private_file(path)
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if side.exists():
            private_file(side)
