"""A `mosquitto` of a test's own on a free loopback port, to stop and restart at will (the machine's
shared broker on 1883 is never touched). Persistent, so a subscriber's session survives a restart."""

from __future__ import annotations

import contextlib
import secrets
import signal
import socket
import string
import subprocess
from collections.abc import Sequence
from pathlib import Path


def unique_site(prefix: str = "test") -> str:
    """A site name of a test's own on the shared broker. Letters only: a run of digits in a topic
    would look like a phone number to the log scrubber and be masked in what the test reads back."""
    return prefix + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateBroker:
    def __init__(self, folder: Path, *, options: Sequence[str] = ()) -> None:
        """`options`: extra mosquitto.conf lines, e.g. `queue_qos0_messages true`."""
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.folder = folder
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {folder}/",
            f"log_dest file {folder}/mosquitto.log",
            *options,
        ]) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text()}")
            # The broker gives no readiness signal other than its port; poll it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.05)
        raise RuntimeError("mosquitto did not open its port")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: it saves its persistence file
            self.process.wait(10)
        self.process = None
