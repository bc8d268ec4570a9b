"""Where recordings live on disk. MixMonitor writes the clear WAV into the spool (`IVR_RECORDING_SPOOL`,
Asterisk's monitor folder); the daemon seals it (ivr.recordings.cipher) into the vault
(`IVR_RECORDING_DIR`, 0700, files 0600) and removes the clear file at once."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ivr.filemodes import private_dir
from ivr.recordings.cipher import RecordingCipher
from ivr.recordings.store import RECORDING_ID_PATTERN

_ID = re.compile(RECORDING_ID_PATTERN)
# The name MixMonitor is given in the dialplan ([ivr-queue]: ivr/${IVR_RECORD}.wav under its monitor folder).
CLEAR_SUFFIX = ".wav"
SEALED_SUFFIX = ".rec"


class RecordingVault:
    def __init__(self, folder: Path, spool: Path, cipher: RecordingCipher) -> None:
        self.folder = folder
        self.spool = spool
        self.cipher = cipher

    def clear_path(self, recording_id: str) -> Path:
        return self.spool / f"{_checked(recording_id)}{CLEAR_SUFFIX}"

    def sealed_path(self, recording_id: str) -> Path:
        return self.folder / f"{_checked(recording_id)}{SEALED_SUFFIX}"

    def seal(self, recording_id: str) -> int | None:
        """Seal the clear file and remove it; the sealed size, or None when there is no clear file."""
        clear = self.clear_path(recording_id)
        try:
            data = clear.read_bytes()
        except FileNotFoundError:
            return None
        sealed = self.cipher.seal(recording_id, data)
        private_dir(self.folder)
        target = self.sealed_path(recording_id)
        partial = target.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        clear.unlink()
        return len(sealed)

    def open(self, recording_id: str) -> bytes:
        return self.cipher.open(recording_id, self.sealed_path(recording_id).read_bytes())

    def remove(self, recording_id: str) -> bool:
        """Delete the sealed file and any clear one left behind; whether anything was there."""
        removed = False
        for path in (self.sealed_path(recording_id), self.clear_path(recording_id)):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
        return removed


def _checked(recording_id: str) -> str:
    if not _ID.fullmatch(recording_id):  # never a path built from anything else
        raise ValueError("not a recording id")
    return recording_id
