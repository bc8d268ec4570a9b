"""Control of the Asterisk sandbox (scripts/asterisk-sandbox) from Python."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "asterisk-sandbox"


class SandboxError(RuntimeError):
    pass


@dataclass
class Sandbox:
    script: Path = SCRIPT
    # The script's environment; None = this process's (IVR_SANDBOX_INSTANCE). A cluster node passes its own
    # (harness/cluster.py Node.env: its instance and network namespace).
    env: dict[str, str] | None = None

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            env=self.env,
        )

    @property
    def root(self) -> Path:
        return Path(self.run("root").stdout.strip())

    def running(self) -> bool:
        return self.run("status", timeout=20).returncode == 0

    def start(self, timeout: float = 900) -> str:
        """Build the root if needed, install asterisk-config/, start Asterisk; raise with the
        script's output and the log tail if it does not come up."""
        proc = self.run("start", timeout=timeout)
        if proc.returncode != 0:
            raise SandboxError(
                f"scripts/asterisk-sandbox start failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n--- log tail ---\n{self.log_tail()}"
            )
        return proc.stderr.strip()

    def stop(self) -> None:
        proc = self.run("stop", timeout=60)
        if proc.returncode != 0:
            raise SandboxError(f"scripts/asterisk-sandbox stop failed:\n{proc.stdout}{proc.stderr}")

    def cli(self, command: str) -> str:
        return self.run("cli", command, timeout=20).stdout

    def log_tail(self, lines: int = 40) -> str:
        """The end of Asterisk's own log (var/log/asterisk/full in the root)."""
        try:
            log = self.root / "var" / "log" / "asterisk" / "full"
            text = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            return f"(no Asterisk log: {exc})"
        return "\n".join(text[-lines:])
