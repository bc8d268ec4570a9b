"""Recordings (ivr.recordings, docs/recordings.md): sealing at rest with AES-GCM, the key file, every
access audited, a citizen's erasure through the keyed hash, retention, the consent question, and the
config's errors at file:line."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ivr.config import Problem
from ivr.config.model import Recording
from ivr.keys import RECORDING_KEY, recording_key
from ivr.privacy import NumberHasher
from ivr.recordings import access, store
from ivr.recordings.cipher import MAGIC, RecordingCipher, RecordingOpenError
from ivr.recordings.consent import ask_consent
from ivr.recordings.keeper import RecordingKeeper
from ivr.recordings.policy import recording_for
from ivr.recordings.store import RecordingRow
from ivr.recordings.vault import RecordingVault
from ivr.store.db import Database, open_database
from ivr.validate import load_config

KEY = b"0123456789abcdef0123456789abcdef"
RID, OTHER = "a" * 32, "b" * 32
AUDIO = b"RIFF" + bytes(range(256)) * 64  # stands for a WAV file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- encryption -----------------------------------------------------------------------------------

def test_sealed_recording_opens_only_with_its_key_and_id() -> None:
    cipher = RecordingCipher(KEY)
    sealed = cipher.seal(RID, AUDIO)
    assert sealed.startswith(MAGIC) and AUDIO[:64] not in sealed and bytes(range(256)) not in sealed
    assert cipher.open(RID, sealed) == AUDIO
    assert cipher.seal(RID, AUDIO) != sealed  # a fresh nonce each time
    with pytest.raises(RecordingOpenError):
        RecordingCipher(b"another key, 32 bytes long......").open(RID, sealed)
    with pytest.raises(RecordingOpenError):
        cipher.open(OTHER, sealed)  # renamed to another recording's id
    tampered = bytearray(sealed)
    tampered[-20] ^= 1
    with pytest.raises(RecordingOpenError):
        cipher.open(RID, bytes(tampered))
    with pytest.raises(RecordingOpenError):
        cipher.open(RID, AUDIO)  # a clear file is not a sealed one
    with pytest.raises(ValueError):
        RecordingCipher(b"short")


def test_recording_key_is_generated_beside_the_state_folder_and_must_be_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IVR_RECORDING_KEY", "IVR_RECORDING_KEY_FILE", "IVR_KEY_DIR"):
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "var"
    key = recording_key(state)
    path = tmp_path / "var-keys" / RECORDING_KEY
    assert len(key) >= 32 and mode(path) == 0o600 and not state.exists()
    assert recording_key(state) == key
    shared = tmp_path / "shared.key"
    shared.write_text("x" * 64)
    shared.chmod(0o644)
    monkeypatch.setenv("IVR_RECORDING_KEY_FILE", str(shared))
    with pytest.raises(RuntimeError, match="readable by others"):
        recording_key(state)


def test_vault_seals_into_a_private_file_and_removes_the_clear_one(tmp_path: Path) -> None:
    vault = RecordingVault(tmp_path / "vault", tmp_path / "spool", RecordingCipher(KEY))
    (tmp_path / "spool").mkdir()
    vault.clear_path(RID).write_bytes(AUDIO)
    size = vault.seal(RID)
    assert size == vault.sealed_path(RID).stat().st_size
    assert not vault.clear_path(RID).exists()
    assert mode(tmp_path / "vault") == 0o700 and mode(vault.sealed_path(RID)) == 0o600
    assert vault.open(RID) == AUDIO
    assert vault.seal(OTHER) is None  # nothing was recorded
    with pytest.raises(ValueError):
        vault.clear_path("../../etc/passwd")


# --- access, audit, erasure, retention ------------------------------------------------------------

def row(recording_id: str, caller_hash: str, *, created: float = 1000.0, days: int = 30) -> RecordingRow:
    return RecordingRow(recording_id, f"uid-{recording_id[:4]}", created, created + days * 86400, "school",
                        "education", caller_hash, "asked", "stored", created + 5, 100)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """The embedded store and the real PostgreSQL alike (conftest's db_url)."""
    database = open_database(db_url)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def vault(tmp_path: Path) -> RecordingVault:
    (tmp_path / "spool").mkdir()
    return RecordingVault(tmp_path / "vault", tmp_path / "spool", RecordingCipher(KEY))


def stored(db: Database, vault: RecordingVault, recording: RecordingRow) -> None:
    store.add(db, recording)
    vault.clear_path(recording.recording_id).write_bytes(AUDIO)
    vault.seal(recording.recording_id)


def test_every_access_is_audited_with_who_and_what(db: Database, vault: RecordingVault, tmp_path: Path) -> None:
    stored(db, vault, row(RID, "h1"))
    assert [r.recording_id for r in access.list_recordings(db, actor="cli:lena", now=2000.0)] == [RID]
    out = tmp_path / "out.wav"
    assert access.export(db, vault, RID, out, actor="cli:lena", now=2001.0) == len(AUDIO)
    assert out.read_bytes() == AUDIO and mode(out) == 0o600
    with pytest.raises(access.RecordingNotFound):
        access.export(db, vault, OTHER, tmp_path / "none.wav", actor="cli:bo", now=2002.0)
    assert access.delete(db, vault, RID, actor="cli:lena", now=2003.0)
    assert not vault.sealed_path(RID).exists() and store.get(db, RID) is None
    assert store.audit_rows(db) == [(2000.0, "cli:lena", "list", None, 1), (2001.0, "cli:lena", "export", RID, 1),
                                    (2002.0, "cli:bo", "export", OTHER, 0), (2003.0, "cli:lena", "delete", RID, 1)]


def test_erase_by_number_goes_through_the_keyed_hash_and_stores_no_number(
        db: Database, vault: RecordingVault, tmp_path: Path) -> None:
    hasher = NumberHasher(KEY)
    citizen = "+46701234567"
    stored(db, vault, row(RID, hasher.digest(citizen)))
    stored(db, vault, row("c" * 32, hasher.digest("0701234567")))  # the same number as a trunk gives it
    stored(db, vault, row(OTHER, hasher.digest("+46709999999")))
    # Another key makes other hashes: nothing of this citizen is found with it.
    assert access.erase_caller(db, vault, NumberHasher(b"k" * 32), citizen, actor="cli:dpo", now=3000.0) == 0
    assert access.erase_caller(db, vault, hasher, "070-123 45 67", actor="cli:dpo", now=3001.0) == 2
    assert [r.recording_id for r in store.listing(db)] == [OTHER]
    assert sorted(p.name for p in (tmp_path / "vault").iterdir()) == [f"{OTHER}.rec"]
    assert store.audit_rows(db)[-1] == (3001.0, "cli:dpo", "erase-caller", None, 2)
    if db.dialect == "sqlite":
        db.close()
        raw = (tmp_path / "ivr.db").read_bytes()
        for form in (citizen, "0701234567", "701234567"):
            assert form.encode() not in raw


def test_retention_deletes_only_what_has_expired(db: Database, vault: RecordingVault) -> None:
    stored(db, vault, row(RID, "h", created=0.0, days=1))
    stored(db, vault, row(OTHER, "h", created=0.0, days=30))
    assert access.purge_expired(db, vault, actor="daemon", now=2 * 86400) == 1
    assert [r.recording_id for r in store.listing(db)] == [OTHER] and not vault.sealed_path(RID).exists()
    assert store.audit_rows(db) == [(2 * 86400, "daemon", "expire", RID, 1)]


class FakeAmi:
    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., object]] = {}

    def on_event(self, name: str, handler: Callable[..., object]) -> None:
        self.handlers[name] = handler


async def test_keeper_seals_at_the_hangup_and_its_sweep_applies_the_retention(
        tmp_path: Path, vault: RecordingVault) -> None:
    now = [1000.0]
    keeper = RecordingKeeper(f"sqlite:///{tmp_path / 'ivr.db'}", vault, sweep_s=3600, settle_s=0.05,
                             clock=lambda: now[0])
    ami = FakeAmi()
    keeper.attach(ami)  # type: ignore[arg-type]
    await keeper.start()
    try:
        recording_id = await keeper.begin(uniqueid="1.1", group="school", department="education",
                                          caller_hash="h", retention_days=2, consent="asked")
        assert recording_id is not None
        vault.clear_path(recording_id).write_bytes(AUDIO)
        ami.handlers["Hangup"]({"Uniqueid": "1.1"})
        for _ in range(100):
            if not vault.clear_path(recording_id).exists() and vault.sealed_path(recording_id).exists():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        assert vault.open(recording_id) == AUDIO
        assert keeper._db is not None
        found = await keeper._db.run(lambda db: store.get(db, recording_id))
        assert found is not None and found.state == "stored"
        now[0] += 3 * 86400
        assert await keeper.sweep() == 1
        assert not vault.sealed_path(recording_id).exists()
    finally:
        await keeper.stop()


# --- consent --------------------------------------------------------------------------------------

class FakeChannel:
    def __init__(self, pressed: str = "", later: str = "", *, missing: bool = False) -> None:
        self.pressed, self.later, self.missing = pressed, later, missing
        self.played: list[tuple[str, str]] = []

    async def stream(self, sound: str, *, interrupt_keys: str) -> tuple[bool, str]:
        self.played.append((sound, interrupt_keys))
        return (False, "") if self.missing else (True, self.pressed)

    async def wait_for_key(self, timeout_s: float) -> str:
        return self.later


@pytest.mark.parametrize(("pressed", "later", "expected"), [
    ("2", "", None), ("", "2", None), ("", "", "asked"), ("1", "", "asked")])
async def test_ask_records_unless_the_caller_presses_the_decline_key(pressed: str, later: str,
                                                                     expected: str | None) -> None:
    channel = FakeChannel(pressed, later)
    assert await ask_consent(channel, Recording(mode="ask"), "en") == expected  # type: ignore[arg-type]
    assert channel.played[0][0] == "ivr/en/recording-ask"


@pytest.mark.parametrize("mode", ["ask", "announce"])
async def test_a_prompt_that_did_not_play_means_no_recording(mode: str) -> None:
    channel = FakeChannel(missing=True)
    assert await ask_consent(channel, Recording(mode=mode), "sv") is None  # type: ignore[arg-type]


async def test_announce_is_heard_whole_and_records() -> None:
    channel = FakeChannel("2")
    assert await ask_consent(channel, Recording(mode="announce"), "sv") == "announced"  # type: ignore[arg-type]
    assert channel.played == [("ivr/sv/recording-notice", "")]


# --- configuration --------------------------------------------------------------------------------

PROMPTS = """
system_prompts:
  recording-notice: {text: {sv: "Samtalet spelas in."}}
  recording-ask: {text: {sv: "Tryck 2."}}
"""
DEPARTMENTS = """departments:
  education: {name: Skola, recording: {mode: announce, retention_days: 30}}
  social: {name: Social, recording_policy: forbidden}
"""


def write(tree: Path, groups: str, *, prompts: bool = True, departments: str = DEPARTMENTS) -> None:
    if prompts:
        with (tree / "routing_rules.yaml").open("a", encoding="utf-8") as handle:
            handle.write(PROMPTS)
    (tree / "agents" / "groups.yaml").write_text(departments + "groups:\n" + groups, encoding="utf-8")


def test_group_overrides_department_and_a_forbidding_department_wins(config_tree: Path) -> None:
    write(config_tree, """  general: {queue: kc-general}
  school: {queue: kc-school, department: education}
  asked: {queue: kc-asked, department: education, recording: {mode: ask, retention_days: 7}}
  quiet: {queue: kc-quiet, department: education, recording: {mode: "off"}}
  social: {queue: kc-social, department: social}
""", departments=DEPARTMENTS.replace("{name: Skola,", "{name: Skola, group: school,"))
    config = load_config(["."])
    assert recording_for(config, "general") is None
    assert recording_for(config, "school") == Recording(mode="announce", retention_days=30)
    assert recording_for(config, "asked") == Recording(mode="ask", retention_days=7)
    assert recording_for(config, "quiet") is None
    assert recording_for(config, "social") is None


def messages(problems: list[Problem]) -> list[str]:
    return [f"{p.file}:{p.line}: {p.message}" for p in problems]


def test_config_errors_name_file_and_line(config_tree: Path, problems_of: Callable[..., list[Problem]]) -> None:
    write(config_tree, """  general: {queue: kc-general}
  social:
    queue: kc-social
    department: social
    recording: {mode: ask}
""")
    [problem] = problems_of()
    assert messages([problem]) == ["agents/groups.yaml:9: group 'social' records calls, but its department "
                                   "'social' forbids recording"]
    assert "remove the group's `recording`" in problem.hint


def test_a_bad_mode_or_retention_is_an_error_at_its_line(config_tree: Path,
                                                        problems_of: Callable[..., list[Problem]]) -> None:
    write(config_tree, """  general:
    queue: kc-general
    recording: {mode: sometimes, retention_days: 0}
""")
    found = " | ".join(messages(problems_of()))
    assert "agents/groups.yaml:7: groups.general.recording.mode: Input should be 'off', 'announce' or 'ask'" in found
    assert "agents/groups.yaml:7: groups.general.recording.retention_days: Input should be greater than" in found


def test_recording_needs_its_prompt(config_tree: Path, problems_of: Callable[..., list[Problem]]) -> None:
    write(config_tree, """  general: {queue: kc-general, recording: {mode: ask}}
""", prompts=False)
    [problem] = problems_of()
    assert messages([problem]) == ["agents/groups.yaml:5: group 'general' records calls but routing_rules.yaml "
                                   "has no system prompt 'recording-ask'"]


def test_the_shipped_config_forbids_recording_social_services() -> None:
    config = load_config([str(Path(__file__).resolve().parents[2])])
    assert config.departments["social_services"].recording_policy == "forbidden"
    assert recording_for(config, "social") is None


def test_no_recording_file_is_group_or_world_readable_after_export(db: Database, vault: RecordingVault,
                                                                   tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        stored(db, vault, row(RID, "h"))
        out = tmp_path / "export.wav"
        access.export(db, vault, RID, out, actor="cli:x", now=1.0)
        assert mode(out) == 0o600 and mode(vault.sealed_path(RID)) == 0o600
    finally:
        os.umask(previous)
