"""Processes under test: the daemon (`python -m ivr run`), the floor server, and the load generator."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import ProcSample, sample

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# Development key for caller references; the benchmark's callers are fake numbers.
BENCH_HASH_KEY = "bench-hash-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port` (read from /proc: connecting would open a session)."""
    wanted = f"0100007F:{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as lines:
            for line in lines:
                parts = line.split()
                if len(parts) > 3 and parts[3] == "0A" and (parts[1] == wanted or parts[1].endswith(f":{port:04X}")):
                    return True
    return False


def wait_listening(proc: subprocess.Popen[bytes], port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        if listening(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not listening on {port} after {timeout:g} s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class ServerProcess:
    """What the bench reads of a server it started: its pid, CPU/memory samples, and a clean stop."""

    proc: subprocess.Popen[bytes] | None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def sample(self) -> ProcSample:
        return sample(self.pid)

    def stop(self) -> int | None:
        return stop_process(self.proc) if self.proc is not None else None


@dataclass
class DaemonUnderTest(ServerProcess):
    """`ivr run` on `config`, logging at its default level to `log_path` (os.devnull: to nowhere)."""

    config: Path
    state_dir: Path
    log_path: str
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    # Python run before the daemon's own entry point, e.g. to install uvloop (a what-if row).
    prelude: str = ""
    # Put before the command, e.g. valgrind (bench/instructions.py); it starts slowly under it.
    wrapper: list[str] = field(default_factory=list)
    start_timeout: float = 30.0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        env = dict(os.environ)
        env.update({
            "IVR_HASH_KEY": BENCH_HASH_KEY,
            "IVR_AMI_SECRET": "",  # no AMI unless the section gives one
            "IVR_MQTT_HOST": "",  # the daemon's default: MQTT off
            "IVR_WALLBOARD_PORT": str(free_port()),
            "IVR_MAX_SESSIONS": "5000",  # above the largest N: overload is not what is measured
        })
        env.pop("IVR_LOG_LEVEL", None)  # the default level, info
        env.update(self.env)
        args = ["run", "--config", str(self.config), "--agi-port", str(self.port), "--state-dir", str(self.state_dir)]
        command = [PYTHON, "-m", "ivr", *args]
        if self.prelude:
            launcher = "import sys\nfrom ivr.cli import entry\nsys.argv = ['ivr', *sys.argv[1:]]\nentry()"
            command = [PYTHON, "-c", f"{self.prelude}\n{launcher}", *args]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([*self.wrapper, *command], stdout=log, stderr=subprocess.STDOUT, env=env,
                                         cwd=REPO, stdin=subprocess.DEVNULL)
        wait_listening(self.proc, self.port, "ivr run", timeout=self.start_timeout)


@dataclass
class FloorUnderTest(ServerProcess):
    sequences: Path
    work_dir: Path
    port: int = 0
    wrapper: list[str] = field(default_factory=list)
    start_timeout: float = 15.0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process; it listens once the sequences file exists."""
        port_file = self.work_dir / "floor.port"
        port_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen([*self.wrapper, PYTHON, "-m", "bench.floor_server", str(self.sequences),
                                      str(port_file)], cwd=REPO, stdin=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL if self.wrapper else None)

    def wait_ready(self) -> None:
        assert self.proc is not None
        port_file = self.work_dir / "floor.port"
        deadline = time.monotonic() + self.start_timeout
        while not port_file.exists() or not port_file.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("floor server did not start")
            time.sleep(0.02)
        self.port = int(port_file.read_text())


def run_loadgen(spec: dict[str, Any], work_dir: Path, timeout: float = 300.0) -> dict[str, Any]:
    """Run the load generator in its own process on `spec`; its JSON result."""
    spec_path = work_dir / "loadgen-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    done = subprocess.run([PYTHON, "-m", "bench.loadgen", str(spec_path)], cwd=REPO, capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
