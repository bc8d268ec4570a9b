"""Secrets and exposure: AMI and MQTT secrets and the caller hash key come from the environment or
from files only their owner can read; FastAGI listens on loopback unless an allowlist says who may
connect; nothing secret is in the repository."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ivr.privacy import load_key
from ivr.settings import Settings, read_secret

REPO = Path(__file__).resolve().parents[2]


def secret_file(tmp_path: Path, mode: int, content: str = "s3cret-value") -> Path:
    path = tmp_path / f"secret-{mode:o}"
    path.write_text(content + "\n")
    path.chmod(mode)
    return path


def test_secret_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IVR_AMI_SECRET", "from-env")
    monkeypatch.setenv("IVR_AMI_SECRET_FILE", str(secret_file(tmp_path, 0o600)))
    assert read_secret("IVR_AMI_SECRET") == "from-env"


def test_secret_file_readable_by_its_owner_only_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IVR_AMI_SECRET", raising=False)
    monkeypatch.setenv("IVR_AMI_SECRET_FILE", str(secret_file(tmp_path, 0o600)))
    assert read_secret("IVR_AMI_SECRET") == "s3cret-value"
    assert Settings().ami_secret == "s3cret-value"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_secret_file_others_can_read_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: int) -> None:
    monkeypatch.delenv("IVR_MQTT_PASSWORD", raising=False)
    monkeypatch.setenv("IVR_MQTT_PASSWORD_FILE", str(secret_file(tmp_path, mode)))
    with pytest.raises(RuntimeError, match="chmod 600"):
        read_secret("IVR_MQTT_PASSWORD")


def test_without_a_secret_there_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IVR_AMI_SECRET", "IVR_AMI_SECRET_FILE", "IVR_MQTT_PASSWORD", "IVR_MQTT_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.ami_secret, settings.mqtt_password) == ("", "")


def test_hash_key_file_others_can_read_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IVR_HASH_KEY", raising=False)
    monkeypatch.setenv("IVR_HASH_KEY_FILE", str(secret_file(tmp_path, 0o644, "k" * 64)))
    with pytest.raises(RuntimeError, match="chmod 600"):
        load_key()
    monkeypatch.setenv("IVR_HASH_KEY_FILE", str(secret_file(tmp_path, 0o600, "k" * 64)))
    assert load_key() == b"k" * 64


def test_named_hash_key_file_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IVR_HASH_KEY", raising=False)
    monkeypatch.setenv("IVR_HASH_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(RuntimeError, match="does not exist"):
        load_key(default_file=tmp_path / "dev.key")
    assert not (tmp_path / "dev.key").exists()  # never silently replaced by a fresh development key


def test_development_hash_key_is_created_owner_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IVR_HASH_KEY", raising=False)
    monkeypatch.delenv("IVR_HASH_KEY_FILE", raising=False)
    key = load_key(default_file=tmp_path / "var" / "hash.key")
    assert len(key) >= 32
    assert (tmp_path / "var" / "hash.key").stat().st_mode & 0o777 == 0o600


def run_daemon(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 20) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    environment.update({"IVR_HASH_KEY": "unit-test-key-0123456789abcdef", "IVR_AMI_SECRET": ""})
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "ivr", "run", "--config", str(REPO), "--state-dir",
                           str(tmp_path / "state"), *args], cwd=REPO, env=environment, capture_output=True,
                          text=True, timeout=timeout)


def test_open_fastagi_bind_without_allowlist_refuses_to_start(tmp_path: Path) -> None:
    run = run_daemon(tmp_path, "--agi-host", "0.0.0.0", "--agi-port", "0")
    assert run.returncode == 2
    assert "refusing to listen for FastAGI on 0.0.0.0" in run.stderr
    assert "IVR_AGI_ALLOWED_PEERS" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_bad_allowlist_entry_refuses_to_start(tmp_path: Path) -> None:
    run = run_daemon(tmp_path, "--agi-host", "0.0.0.0", env={"IVR_AGI_ALLOWED_PEERS": "10.0.0.1,asterisk.local"})
    assert run.returncode == 2
    assert "IVR_AGI_ALLOWED_PEERS" in run.stderr and "asterisk.local" in run.stderr


# Every secret file the daemon reads (ivr run), and the one only `ivr asterisk reload` reads.
DAEMON_SECRET_FILES = ["IVR_AMI_SECRET_FILE", "IVR_MQTT_PASSWORD_FILE", "IVR_HASH_KEY_FILE", "IVR_CALLBACK_KEY_FILE",
                       "IVR_RECORDING_KEY_FILE", "IVR_CLUSTER_KEY_FILE"]


def test_every_secret_file_variable_is_covered() -> None:
    """Each `*_FILE` variable the product reads is in the refusal tests below."""
    sources = "\n".join(path.read_text() for path in (REPO / "ivr").rglob("*.py"))
    named = set(re.findall(r"(IVR_\w+_FILE)", sources)) - {"IVR_SOFTPHONE_AUTH_FILE", "IVR_PRECALL_PUBLIC_KEY_FILE"}
    read = named | {f"{name}_FILE" for name in re.findall(r'read_secret\("(IVR_\w+)"\)', sources)}
    assert read == {*DAEMON_SECRET_FILES, "IVR_AMI_ADMIN_SECRET_FILE"}, read


@pytest.mark.parametrize("variable", DAEMON_SECRET_FILES)
@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_secret_file_others_can_read_refuses_to_start(tmp_path: Path, variable: str, mode: int) -> None:
    env = {variable: str(secret_file(tmp_path, mode, "x" * 40)), variable.removesuffix("_FILE"): "",
           "IVR_MQTT_HOST": "127.0.0.1"}
    run = run_daemon(tmp_path, env=env)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "chmod 600" in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert str(tmp_path) in run.stderr  # the message names the file


def test_admin_secret_file_others_can_read_is_refused_by_reload(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    environment["IVR_AMI_ADMIN_SECRET_FILE"] = str(secret_file(tmp_path, 0o644))
    run = subprocess.run([sys.executable, "-m", "ivr", "asterisk", "reload"], cwd=REPO, env=environment,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "chmod 600" in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_open_bind_with_allowlist_turns_other_peers_away(tmp_path: Path) -> None:
    """Listening on every address with an allowlist that names another host: our own connection
    from 127.0.0.1 is closed before a single header is read."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    environment.update({"IVR_HASH_KEY": "unit-test-key-0123456789abcdef", "IVR_AMI_SECRET": "",
                        "IVR_AGI_ALLOWED_PEERS": "192.0.2.10", "IVR_WALLBOARD_PORT": "0"})
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "ivr", "run", "--config", str(REPO), "--state-dir",
                                   str(tmp_path / "state"), "--agi-host", "0.0.0.0", "--agi-port", str(port)],
                                  cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while "daemon started" not in log.read_text() and time.monotonic() < deadline:
            assert daemon.poll() is None, log.read_text()
            time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"agi_request: agi://127.0.0.1/inbound\nagi_uniqueid: 1.1\n\n")
            try:
                answer = conn.recv(100)
            except ConnectionResetError:  # closed with our headers unread
                answer = b""
            assert answer == b""  # closed without a command
        deadline = time.monotonic() + 5
        while "agi.peer_rejected" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        daemon.terminate()
        daemon.wait(15)
    assert "agi.peer_rejected" in log.read_text()
    assert daemon.returncode == 0


def test_no_secret_or_key_file_is_tracked_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    names = [Path(line).name for line in tracked.splitlines()]
    assert "manager_ivr_secret.conf" not in names
    assert not [n for n in names if n.endswith((".key", ".pem")) or n in ("hash.key", ".env")]
