"""What the shipped AMI configuration exposes, read from asterisk-config/manager.conf and checked
on the real Asterisk: AMI listens on loopback only, the daemon's user `ivr` is admitted from
loopback only, its secret lives outside the repository, and it holds no `command` or `config`
class (no CLI, no rewriting Asterisk's files) and no `system` write class (no shell through
Originate/System, no AstDB writes). test_fallback.py checks that it can do what the daemon needs.
Reloads run as the separate admin login `ivr-admin`, which can reload and nothing more.
"""

from __future__ import annotations

import configparser
import os
import socket
from pathlib import Path

import pytest
from harness.ami import IVR_DEV_SECRET, IVR_USER, AmiClient, AmiError
from harness.ports import AMI_PORT
from harness.sandbox import Sandbox

pytestmark = pytest.mark.asterisk_only

REPO = Path(__file__).resolve().parents[2]
MANAGER_CONF = REPO / "asterisk-config" / "manager.conf"
# Every class Asterisk 22 knows; `command` runs CLI commands, `config` reads and rewrites its files.
KNOWN_CLASSES = {"system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting",
                 "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security", "message", "all"}


def manager_sections() -> dict[str, dict[str, list[str]]]:
    """manager.conf as {section: {key: [values]}} (keys repeat: deny/permit)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in MANAGER_CONF.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line and current is not None:
            key, _, value = line.partition("=")
            current.setdefault(key.strip(), []).append(value.strip())
    return sections


def classes(value: str) -> set[str]:
    return {c.strip() for c in value.split(",") if c.strip()}


def test_ami_listens_on_loopback_and_admits_the_daemon_from_loopback_only() -> None:
    conf = manager_sections()
    assert conf["general"]["bindaddr"] == ["127.0.0.1"]
    ivr = conf["ivr"]
    assert ivr["deny"] == ["0.0.0.0/0.0.0.0"]
    assert ivr["permit"] == ["127.0.0.1/255.255.255.255"]
    assert "secret" not in ivr  # included from manager_ivr_secret.conf, which git never sees
    assert "#include \"manager_ivr_secret.conf\"" in MANAGER_CONF.read_text()


def test_daemon_user_has_no_cli_and_no_config_class() -> None:
    ivr = manager_sections()["ivr"]
    read, write = classes(ivr["read"][0]), classes(ivr["write"][0])
    assert read <= KNOWN_CLASSES and write <= KNOWN_CLASSES
    assert not {"all", "command", "config"} & (read | write)
    assert "system" not in write  # Originate/System (a shell), GetConfig, DBPut


def test_admin_user_can_only_reload_and_only_from_loopback() -> None:
    admin = manager_sections()["ivr-admin"]
    assert admin["deny"] == ["0.0.0.0/0.0.0.0"]
    assert admin["permit"] == ["127.0.0.1/255.255.255.255"]
    assert "secret" not in admin
    assert "#include \"manager_ivr_admin_secret.conf\"" in MANAGER_CONF.read_text()
    assert classes(admin["write"][0]) == {"system"}  # Reload needs it; no originate, no command, no config
    assert classes(admin["read"][0]) == set()


def test_nothing_but_loopback_can_reach_ami(asterisk: Sandbox) -> None:
    listening = asterisk.cli("manager show settings")
    assert "127.0.0.1" in listening
    other = [a for a in _local_addresses() if not a.startswith("127.")]
    for address in other:
        with pytest.raises(OSError), socket.create_connection((address, AMI_PORT), timeout=2):
            pass


def _local_addresses() -> list[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the outgoing address
            return [probe.getsockname()[0]]
        except OSError:
            return []


async def test_daemon_user_cannot_run_cli_commands_or_rewrite_config(asterisk: Sandbox) -> None:
    secret = os.environ.get("IVR_AMI_SECRET", IVR_DEV_SECRET)
    async with await AmiClient.connect(username=IVR_USER, secret=secret) as ivr:
        for action, fields in [("Command", {"Command": "core show version"}),
                               ("UpdateConfig", {"SrcFilename": "extensions.conf", "DstFilename": "extensions.conf",
                                                 "Action-000000": "NewCat", "Cat-000000": "pwned"})]:
            with pytest.raises(AmiError, match="Permission denied"):
                await ivr.action(action, **fields)
        value = await ivr.action("Getvar", Variable="SHELL(id)", check=False)
        assert not value.Value  # live_dangerously = no: no shell from AMI functions
    assert "pwned" not in (asterisk.root / "etc" / "asterisk" / "extensions.conf").read_text()


async def test_daemon_user_cannot_run_a_shell_or_write_astdb(asterisk: Sandbox) -> None:
    secret = os.environ.get("IVR_AMI_SECRET", IVR_DEV_SECRET)
    marker = asterisk.root / "tmp" / "ivr-security-pwned"
    marker.unlink(missing_ok=True)
    async with await AmiClient.connect(username=IVR_USER, secret=secret) as ivr:
        shell = await ivr.action("Originate", Channel="Local/s@ivr-nowhere/n", Application="System",
                                 Data="touch /tmp/ivr-security-pwned", Async="false", check=False)
        assert shell.Response == "Error" and "Forbidden" in (shell.Message or "")
        for action, fields in [("DBPut", {"Family": "ivr_callerid", "Key": "2104", "Val": "allowed:+4640000000"}),
                               ("DBDel", {"Family": "ivr-callback", "Key": "1"}),
                               ("Command", {"Command": "core show version"}),
                               ("GetConfig", {"Filename": "manager.conf"}),
                               ("Reload", {"Module": "pbx_config.so"})]:
            with pytest.raises(AmiError, match="Permission denied"):
                await ivr.action(action, **fields)
        # What the daemon does need still works: reading callback results (class reporting).
        read = await ivr.action("DBGet", Family="ivr-callback", Key="0", check=False)
        assert "Permission denied" not in (read.Message or "")
    assert not marker.exists()


async def test_admin_user_can_reload_and_do_nothing_else(asterisk: Sandbox) -> None:
    secret = os.environ.get("IVR_AMI_ADMIN_SECRET", "ivr-admin-dev-secret")
    async with await AmiClient.connect(username="ivr-admin", secret=secret) as admin:
        for module in ("pbx_config.so", "res_pjsip.so"):
            assert (await admin.action("Reload", Module=module)).Response == "Success"
        assert (await admin.action("QueueReload", Members="yes", Rules="yes", Parameters="yes")).Response == "Success"
        for action, fields in [("Originate", {"Channel": "Local/s@ivr-nowhere/n", "Application": "System",
                                              "Data": "id", "Async": "false"}),
                               ("Command", {"Command": "core show version"}),
                               ("UpdateConfig", {"SrcFilename": "extensions.conf", "DstFilename": "extensions.conf",
                                                 "Action-000000": "NewCat", "Cat-000000": "pwned"})]:
            with pytest.raises(AmiError, match="Permission denied"):
                await admin.action(action, **fields)
    assert "ivr-callerid-table" in asterisk.cli("dialplan show 2104@ivr-callerid-table")


def test_sandbox_only_users_are_not_shipped() -> None:
    """The all-privileges test user lives in asterisk-config/sandbox/, which production never gets."""
    shipped = configparser.ConfigParser(strict=False, allow_no_value=True, interpolation=None)
    for path in (REPO / "asterisk-config" / "manager.d").glob("*.conf"):
        shipped.read_string("[top]\n" + path.read_text())
    assert not [s for s in shipped.sections() if s != "top"]
    assert "ivrtest" not in manager_sections()
