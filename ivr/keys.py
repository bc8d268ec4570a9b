"""The daemon's own key files (the caller-hash key, the callback sealing key, the recording key) when
no IVR_*_KEY or IVR_*_KEY_FILE names one: in a folder of their own beside the state folder, never inside
it, so that a copy or backup of the state folder (the database of hashed and sealed numbers, the sealed
recordings) is not also its key.

    IVR_KEY_DIR           the folder (default: `<state folder>-keys`, e.g. var-keys/ beside var/)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ivr.filemodes import private_dir
from ivr.privacy import load_key

HASH_KEY = "hash.key"
CALLBACK_KEY = "callback.key"


def key_dir(state_dir: Path) -> Path:
    configured = os.environ.get("IVR_KEY_DIR")
    if configured:
        return Path(configured)
    absolute = state_dir.absolute()
    return absolute.parent / f"{absolute.name}-keys"


def default_key_file(state_dir: Path, name: str) -> Path:
    """Where the generated key `name` lives. One left in the state folder by an earlier version is moved
    here first: it is the key of the hashes and sealed numbers already stored."""
    folder = key_dir(state_dir)
    path, legacy = folder / name, state_dir / name
    if legacy.exists() and not path.exists():
        private_dir(folder)
        shutil.move(legacy, path)  # a rename when both are on one file system
    return path


def hash_key(state_dir: Path) -> bytes:
    """IVR_HASH_KEY, IVR_HASH_KEY_FILE, else the generated development key."""
    if os.environ.get("IVR_HASH_KEY") or os.environ.get("IVR_HASH_KEY_FILE"):
        return load_key()
    return load_key(default_file=default_key_file(state_dir, HASH_KEY))


def callback_key(state_dir: Path) -> bytes:
    """IVR_CALLBACK_KEY, IVR_CALLBACK_KEY_FILE, else the generated development key."""
    env_var, file_var = "IVR_CALLBACK_KEY", "IVR_CALLBACK_KEY_FILE"
    if os.environ.get(env_var) or os.environ.get(file_var):
        return load_key(env_var=env_var, file_var=file_var)
    return load_key(env_var=env_var, file_var=file_var, default_file=default_key_file(state_dir, CALLBACK_KEY))


RECORDING_KEY = "recording.key"


def recording_key(state_dir: Path) -> bytes:
    """IVR_RECORDING_KEY, IVR_RECORDING_KEY_FILE, else the generated development key (docs/recordings.md)."""
    env_var, file_var = "IVR_RECORDING_KEY", "IVR_RECORDING_KEY_FILE"
    if os.environ.get(env_var) or os.environ.get(file_var):
        return load_key(env_var=env_var, file_var=file_var)
    return load_key(env_var=env_var, file_var=file_var, default_file=default_key_file(state_dir, RECORDING_KEY))
