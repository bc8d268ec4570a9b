"""scripts/asterisk-sandbox builds the cached root at the base path whatever IVR_SANDBOX_INSTANCE says,
and writes its ready-stamp there (on a machine without the cache, `IVR_SANDBOX_INSTANCE=7 scripts/demo`
once built the root under the instance's path, stamped the base path and failed). debootstrap and
chroot are stand-ins here: the test is about paths, not about Debian."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAKE_DEBOOTSTRAP = """#!/bin/sh
# debootstrap --variant=minbase sid DIR
for last; do :; done
mkdir -p "$last/etc" "$last/usr/sbin" && echo fake >"$last/etc/debian_version"
"""
FAKE_CHROOT = """#!/bin/sh
# chroot DIR COMMAND...: record what ran where; `asterisk -V` answers like Asterisk.
echo "$*" >>"$(dirname "$1")/chroot.log"
case "$2" in asterisk) echo "Asterisk 22.0.0-fake" ;; esac
"""


def fake_tools(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("debootstrap", FAKE_DEBOOTSTRAP), ("chroot", FAKE_CHROOT)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def test_an_instance_builds_and_stamps_the_base_root(tmp_path: Path) -> None:
    base = tmp_path / "cache" / "sid-root"
    env = {**os.environ, "PATH": f"{fake_tools(tmp_path)}:{os.environ['PATH']}", "IVR_SANDBOX_ROOT": str(base),
           "IVR_SANDBOX_INSTANCE": "7"}
    done = subprocess.run([str(REPO / "scripts" / "asterisk-sandbox"), "build"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (base / ".ivr-sandbox-ready-v1").is_file()
    assert (base / "etc" / "debian_version").is_file()
    assert not (tmp_path / "cache" / "sid-root-7").exists()  # the instance's copy is made at start, from the base
    assert not list((tmp_path / "cache").glob("*.partial"))
    # A second build (another instance, or the base) finds the stamp and builds nothing.
    env["IVR_SANDBOX_INSTANCE"] = "6"
    stamp = (base / ".ivr-sandbox-ready-v1").stat().st_mtime_ns
    again = subprocess.run([str(REPO / "scripts" / "asterisk-sandbox"), "build"], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 0 and "building" not in again.stderr
    assert (base / ".ivr-sandbox-ready-v1").stat().st_mtime_ns == stamp
