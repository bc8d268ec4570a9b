"""Every `ivr` command is quiet when the reader of its output goes away (`ivr simulate --json | head`):
no BrokenPipeError traceback, no "Exception ignored" at exit, exit status 141 as a shell reports it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.cli import COMMANDS, PIPE_CLOSED_EXIT
from ivr.testing.fake_asterisk import fake_call

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
    "recordings": ["recordings", "list", "--db", "sqlite:///{tmp}/rec.db"],
    "asterisk": ["asterisk", "--help"],
    "agents": ["agents", "--help"],
    "api_token": ["api-token", "--help"],
    "queues": ["queues", "--help"],
    "cluster": ["cluster", "--help"],  # `cluster status` reads the broker
    "kamailio": ["kamailio", "--help"],  # `generate` needs a `cluster:` and writes files, not stdout
    "messages": ["messages", "list", "--db", "sqlite:///{tmp}/s.db"],  # `set`/`clear` need Asterisk's AMI
    "switch": ["switch", "status", "--db", "sqlite:///{tmp}/s.db"],
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


async def test_the_daemon_serves_calls_after_its_log_pipe_closes(tmp_path: Path) -> None:
    """`ivr run` logs to stdout; with nobody reading it any more, calls are still served, and SIGTERM
    ends it cleanly, without a BrokenPipeError anywhere."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update({"IVR_HASH_KEY": "unit-test-key-0123456789abcdef", "IVR_CALLBACK_KEY": "unit-test-callback-key-0123",
                "IVR_WALLBOARD_PORT": "0"})
    read_end, write_end = os.pipe()
    os.close(read_end)
    daemon = subprocess.Popen([sys.executable, "-m", "ivr", "run", "--config", str(REPO), "--agi-port", str(port),
                               "--state-dir", str(tmp_path / "var"), "--allow-test-clock"], cwd=REPO, env=env,
                              stdout=write_end, stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    try:
        result = None
        for _ in range(150):
            try:
                result = await fake_call(port, keys=["2", "4"], variables={"IVR_TEST_NOW": "2026-12-22T10:00"})
                break
            except OSError:  # not listening yet
                assert daemon.poll() is None, daemon.stderr.read() if daemon.stderr else ""
                await asyncio.sleep(0.1)
        assert result is not None and result.variables["IVR_RESULT"] == "queue"
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(10)
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Logging error" not in stderr, stderr
