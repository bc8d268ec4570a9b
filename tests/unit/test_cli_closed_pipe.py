"""Every `ivr` command is quiet when the reader of its output goes away (`ivr simulate --json | head`):
no BrokenPipeError traceback, no "Exception ignored" at exit, exit status 141 as a shell reports it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.cli import COMMANDS, PIPE_CLOSED_EXIT

REPO = Path(__file__).resolve().parents[2]

# One invocation per command that prints on stdout without Asterisk. `run` (a daemon that logs) and
# the AMI commands (`agents`, `queues`) are reached through their help text, which they print the same way.
INVOCATIONS = {
    "check": ["check"],
    "simulate": ["simulate", "--at", "2026-12-22T10:00", "--keys", "2,4", "--json"],
    "run": ["run", "--help"],
    "prompts": ["prompts", "--help"],
    "graph": ["graph", "dialplans/main.yaml", "--dot", "-", "-o", "{tmp}/menu.svg"],
    "schema": ["schema", "--help"],
    "diff": ["diff", ".", "."],
    "reload": ["reload", "--help"],
    "call": ["call", "--at", "2026-12-22T10:00"],
    "report": ["report", "--from", "2026-11-01", "--to", "2026-11-30", "--db", "sqlite:///{tmp}/r.db"],
    "contacts": ["contacts", "stats", "--db", "sqlite:///{tmp}/c.db"],
    "asterisk": ["asterisk", "--help"],
    "agents": ["agents", "--help"],
    "api_token": ["api-token", "--help"],
    "queues": ["queues", "--help"],
}


def test_every_command_has_a_closed_pipe_case() -> None:
    assert set(INVOCATIONS) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_output_into_a_closed_pipe_is_quiet(command: str, tmp_path: Path) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in INVOCATIONS[command]]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write fails with EPIPE
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env["IVR_STATE_DIR"] = str(tmp_path / "var")
    try:
        run = subprocess.run([sys.executable, "-m", "ivr", *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                             stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr, run.stderr
    assert "Exception ignored" not in run.stderr, run.stderr
    # argparse drops a help text it cannot write (and exits 0); every other output ends in 141.
    assert run.returncode == (0 if "--help" in args else PIPE_CLOSED_EXIT), (run.returncode, run.stderr)
