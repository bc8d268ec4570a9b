"""The real IVR daemon (`python -m ivr run`) as a child process, pointed at this run's Asterisk instance.

A real process, not an in-process object, so tests see what production sees: its own event loop,
signals (SIGTERM, SIGHUP, SIGKILL), its JSON log on disk and its databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.clock import TEST_CLOCK_FILE

from . import kinds
from .ports import AGI_PORT, AMI_PORT

REPO = Path(__file__).resolve().parents[3]


# A Tuesday morning, when every group is open: `DaemonProcess(test_clock=OPEN_HOURS)` routes the calls
# without a test time of their own (IVR_TEST_NOW, X-IVR-Test-Now) at this time, so that the test does not
# depend on the hour the suite runs at (the contact center closes at 18:00 Stockholm time). Not the
# default: it moves the callback scheduler's clock too, and tests that book callbacks at the real time
# would see them expired.
OPEN_HOURS = "2026-12-22T10:00+01:00"


@dataclass
class DaemonProcess:
    state_dir: Path
    config_paths: list[str] = field(default_factory=lambda: [str(REPO)])
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    test_clock: str | None = None  # the daemon's own clock (set_clock) from the start, e.g. OPEN_HOURS
    agi_port: int = AGI_PORT
    proc: subprocess.Popen[bytes] | None = None
    # Where this start's log lines begin: a restart appends to the same log.
    log_offset: int = 0

    def set_clock(self, moment: str) -> None:
        """The daemon's own clock (ivr.clock.SchedulerClock: the callback scheduler, a desktop transfer's
        "is the group open now") at `moment` (ISO, with its UTC offset), running on from there."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / TEST_CLOCK_FILE).write_text(f"{moment}\n", encoding="utf-8")

    @property
    def log_path(self) -> Path:
        return self.state_dir / "daemon.log"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "IVR_AMI_PORT": str(AMI_PORT),
            "IVR_AMI_USER": "ivr",
            "IVR_AMI_SECRET": os.environ.get("IVR_AMI_SECRET", "ivr-dev-secret"),
            "IVR_DB_URL": f"sqlite:///{self.state_dir / 'ivr.db'}",
            "IVR_WALLBOARD_PORT": "0",
            "IVR_MQTT_HOST": "",
            "IVR_HASH_KEY": "integration-test-key-0123456789abcdef",
        })
        env.update(self.env)
        return env

    async def start(self, timeout: float = 15.0) -> None:
        kinds.started("real_daemon", "`ivr run` (harness.daemon.DaemonProcess)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.test_clock and not (self.state_dir / TEST_CLOCK_FILE).exists():
            self.set_clock(self.test_clock)
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [sys.executable, "-m", "ivr", "run", "--config", *self.config_paths,
                   "--agi-port", str(self.agi_port), "--state-dir", str(self.state_dir), "--allow-test-clock",
                   *self.args]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.environment(),
                                     cwd=REPO, stdin=subprocess.DEVNULL)
        log.close()
        await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float) -> None:
        """Ready = FastAGI listens and the first AMI login is done (both logged by the daemon)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log_tail()}")
            events = {line.get("event") for line in self.log_lines(since=self.log_offset)}
            if {"daemon started", "ami.connected"} <= events:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"daemon not ready within {timeout} s:\n{self.log_tail()}")

    def log_lines(self, since: int = 0) -> list[dict[str, Any]]:
        """The JSON log lines, from byte offset `since` (e.g. `log_offset`: this start's lines only)."""
        lines: list[dict[str, Any]] = []
        if not self.log_path.exists():
            return lines
        with self.log_path.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode("utf-8", errors="replace")
        for raw in text.splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(raw))
        return lines

    async def wait_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first log line matching `predicate`, waiting for it: the daemon logs after it acts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for line in self.log_lines():
                if predicate(line):
                    return line
            if loop.time() > deadline:
                raise AssertionError(f"no matching daemon log line within {timeout} s:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when the daemon crashes."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    async def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.proc.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.kill()
        return self.proc.returncode

