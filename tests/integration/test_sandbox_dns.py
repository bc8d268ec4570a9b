"""The sandbox does not depend on DNS: scripts/asterisk-sandbox writes the root's /etc/hosts with the
machine's host name at every start (Asterisk looks that name up when it starts and while it sets up
SIP calls; unanswered, each look-up waits for the resolver's timeout), as the instance's own file,
never through a hard link into the cached base root, whose build stamp stays as it was."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from harness.sandbox import Sandbox

pytestmark = pytest.mark.asterisk_only

BASE = Path(os.environ.get("IVR_SANDBOX_ROOT", "/var/cache/ivr-sandbox/sid-root"))


def test_the_roots_hosts_file_names_this_machine(asterisk: Sandbox) -> None:
    hosts = asterisk.root / "etc" / "hosts"
    names = {name for line in hosts.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#") for name in line.split()[1:]}
    assert socket.gethostname() in names and "localhost" in names
    # Resolved inside the root from the file alone: no DNS server is asked, so no wait.
    started = time.monotonic()
    found = subprocess.run(["chroot", str(asterisk.root), "getent", "hosts", socket.gethostname()],
                           capture_output=True, text=True, timeout=10, check=False)
    assert found.returncode == 0 and socket.gethostname() in found.stdout
    assert time.monotonic() - started < 2


def test_the_cached_base_root_is_untouched(asterisk: Sandbox) -> None:
    hosts = asterisk.root / "etc" / "hosts"
    stamp = BASE / ".ivr-sandbox-ready-v1"
    assert stamp.stat().st_mtime < hosts.stat().st_mtime  # written at start, long after the build
    if asterisk.root != BASE:
        # An instance: its own file, not a hard link shared with the base root...
        assert hosts.stat().st_nlink == 1
        base_hosts = BASE / "etc" / "hosts"
        assert not base_hosts.exists() or base_hosts.stat().st_ino != hosts.stat().st_ino
        # ...and the build stamp the instance was copied from is the one the base still has (the
        # instance would otherwise be copied again at every start).
        copied_from = (asterisk.root / ".ivr-sandbox-copy-of").read_text(encoding="utf-8").strip()
        assert copied_from == str(int(stamp.stat().st_mtime))
