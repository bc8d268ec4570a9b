"""Hot reload: ConfigHolder keeps the last good config and running calls' objects; `ivr reload` checks
first and then sends SIGHUP to the daemon named by the pid file."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from ivr.cli import main
from ivr.config.holder import ConfigHolder
from ivr.engine.nodes.menu import MenuNode
from ivr.validate import load_config

Break = Callable[[str, str, str], Path]
PLAN = "dialplans/mini.yaml"


def test_broken_reload_keeps_the_last_good_config(config_tree: Path) -> None:
    holder = ConfigHolder(["."], load_config)
    good = holder.current
    (config_tree / PLAN).write_text("nodes:\n  welcome: [unclosed\n", encoding="utf-8")
    with capture_logs() as logs:
        report = holder.reload()
    assert not report.ok
    assert report.new_version == report.old_version == good.version
    assert report.problems and "YAML syntax error" in report.problems[0].message
    assert holder.current is good
    (refused,) = logs
    assert refused["event"] == "reload refused; keeping the last good config"
    assert refused["log_level"] == "error"
    assert "YAML syntax error" in refused["problems"][0]


def test_a_call_keeps_the_config_it_started_with(config_tree: Path, break_file: Break) -> None:
    holder = ConfigHolder(["."], load_config)
    in_call = holder.current  # what a call captures when it starts
    break_file(PLAN, '"1": queue_general', '"1": transfer_out')
    with capture_logs() as logs:
        report = holder.reload()
    assert report.ok
    assert holder.current is not in_call
    assert holder.current.version == report.new_version != in_call.version
    before, after = in_call.plans["mini"].nodes["menu"], holder.current.plans["mini"].nodes["menu"]
    assert isinstance(before, MenuNode) and isinstance(after, MenuNode)
    assert before.options["1"] == "queue_general"
    assert after.options["1"] == "transfer_out"
    (reloaded,) = logs
    assert reloaded["event"] == "config reloaded"
    assert reloaded["changes"] == "1 change(s): 1 menu key retargeted"


def test_reload_of_unchanged_files_logs_no_changes(config_tree: Path) -> None:
    holder = ConfigHolder(["."], load_config)
    with capture_logs() as logs:
        report = holder.reload()
    assert report.ok and report.new_version == report.old_version
    assert logs[0]["changes"] == "no changes"


DAEMON = """
import pathlib, signal, sys, time
from ivr.config.holder import ConfigHolder
from ivr.validate import load_config
holder = ConfigHolder(["."], load_config)
out = pathlib.Path(sys.argv[1])
def on_hup(*_):
    report = holder.reload()
    out.write_text(f"reloaded {report.ok} {report.new_version}")
signal.signal(signal.SIGHUP, on_hup)
out.write_text(f"started {holder.current.version}")
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def daemon(config_tree: Path) -> Iterator[tuple[Path, Path]]:
    """A stand-in for `ivr run`: a process that holds the config and reloads on SIGHUP, with its pid file."""
    state, status = config_tree / "state", config_tree / "status.txt"
    process = subprocess.Popen([sys.executable, "-c", DAEMON, str(status)], cwd=config_tree)
    try:
        wait_for(status, "started")
        state.mkdir()
        (state / "ivr.pid").write_text(str(process.pid))
        yield state, status
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for(path: Path, prefix: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.startswith(prefix):
            return text
        time.sleep(0.02)
    raise AssertionError(f"{path} never said {prefix!r}")


def test_reload_signals_the_daemon(daemon: tuple[Path, Path], break_file: Break,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    state, status = daemon
    break_file(PLAN, '"1": queue_general', '"1": transfer_out')
    assert main(["reload", "--config", ".", "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert "plan mini: 6 nodes" in out
    version = out.split("new_version=")[1].strip()
    assert wait_for(status, "reloaded") == f"reloaded True {version}"


def test_reload_refuses_a_broken_config(daemon: tuple[Path, Path], break_file: Break,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    state, status = daemon
    break_file(PLAN, "    group: general\n", "    group: generl\n")
    assert main(["reload", "--config", ".", "--state-dir", str(state)]) == 1
    captured = capsys.readouterr()
    assert "unknown agent group 'generl'" in captured.out
    assert "not reloading" in captured.err
    time.sleep(0.2)
    assert status.read_text().startswith("started")  # no SIGHUP was sent


def test_reload_without_a_daemon(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reload", "--state-dir", "nowhere"]) == 2
    assert "no running daemon" in capsys.readouterr().err
    # A stale pid file whose pid now belongs to another program: that program must not get SIGHUP.
    other = subprocess.Popen(["sleep", "30"])
    try:
        (config_tree / "nowhere").mkdir()
        (config_tree / "nowhere/ivr.pid").write_text(str(other.pid))
        assert main(["reload", "--state-dir", "nowhere"]) == 2
        time.sleep(0.1)
        assert other.poll() is None
    finally:
        other.terminate()
        other.wait(timeout=10)
