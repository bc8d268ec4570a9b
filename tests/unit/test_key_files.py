"""Where the generated keys live and what the daemon's files look like on disk: the caller-hash and
callback keys outside the folder of the database they protect (var-keys/ beside var/), a key left in
var/ by an earlier version moved out (not replaced: its hashes stay valid), and the state folder 0700
and the embedded database 0600 even under a permissive umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.daemon import Daemon
from ivr.keys import CALLBACK_KEY, HASH_KEY, RECORDING_KEY, callback_key, hash_key, key_dir
from ivr.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def no_configured_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IVR_HASH_KEY", "IVR_HASH_KEY_FILE", "IVR_CALLBACK_KEY", "IVR_CALLBACK_KEY_FILE", "IVR_RECORDING_KEY",
                 "IVR_RECORDING_KEY_FILE", "IVR_KEY_DIR",
                 "IVR_DB_URL", "IVR_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_generated_keys_live_beside_the_state_folder_not_in_it(tmp_path: Path, open_umask: None) -> None:
    state = tmp_path / "var"
    assert key_dir(state) == tmp_path / "var-keys"
    first, second = hash_key(state), callback_key(state)
    assert first != second and len(first) >= 32
    assert not state.exists()  # nothing written into the database's folder
    assert mode(tmp_path / "var-keys") == 0o700
    assert mode(tmp_path / "var-keys" / HASH_KEY) == mode(tmp_path / "var-keys" / CALLBACK_KEY) == 0o600
    assert hash_key(state) == first  # generated once, then read


def test_a_relative_state_folder_gets_a_sibling_key_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert key_dir(Path("var")) == tmp_path / "var-keys"


def test_key_dir_can_be_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_KEY_DIR", str(tmp_path / "etc-ivr"))
    hash_key(tmp_path / "var")
    assert (tmp_path / "etc-ivr" / HASH_KEY).exists()


def test_a_key_left_in_the_state_folder_is_moved_out_not_replaced(tmp_path: Path) -> None:
    state = tmp_path / "var"
    state.mkdir()
    old = state / HASH_KEY
    old.write_text("k" * 64)
    old.chmod(0o600)
    assert hash_key(state) == b"k" * 64
    assert not old.exists() and (tmp_path / "var-keys" / HASH_KEY).read_text() == "k" * 64


async def test_daemon_state_folder_and_database_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    state = tmp_path / "var"
    state.mkdir(mode=0o755)
    (state / "ivr.db").touch(mode=0o644)  # as an earlier version left them
    running = Daemon(Settings(config_paths=[str(REPO)], agi_port=0, state_dir=state, ami_secret="", mqtt_host="",
                              wallboard_port=0))
    await running.start()
    try:
        assert mode(state) == 0o700
        for name in ("ivr.db", "ivr.db-wal", "ivr.db-shm"):
            if (state / name).exists():
                assert mode(state / name) == 0o600, name
        assert not (state / HASH_KEY).exists() and not (state / CALLBACK_KEY).exists()
        assert not (state / RECORDING_KEY).exists() and mode(tmp_path / "var-keys" / RECORDING_KEY) == 0o600
    finally:
        await running.stop(grace=1)


def test_a_new_database_file_is_owner_only(tmp_path: Path, open_umask: None) -> None:
    from ivr.store.db import open_database

    open_database(f"sqlite:///{tmp_path / 'new.db'}").close()
    assert mode(tmp_path / "new.db") == 0o600
