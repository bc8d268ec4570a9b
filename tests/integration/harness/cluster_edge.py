"""The cluster's SIP edge on this machine (harness/cluster.py): one Kamailio, or a pair of them sharing
the service address through keepalived (routing_rules.yaml `cluster.edge.hosts`, docs/cluster.md).

Each edge host is a network namespace with the host's own address; Kamailio runs there in the
foreground with its control socket in the edge's folder, and (pair) keepalived runs beside it with the
`keepalived.conf` that `ivr kamailio generate --edge NAME` wrote. `net.ipv4.ip_nonlocal_bind=1` in the
namespace lets the standby's Kamailio bind the service address it does not hold.

`lose()` is a machine loss: the host's network goes down and its Kamailio and keepalived are SIGKILLed
(no VRRP goodbye, no SIP goodbye); `rejoin()` brings it back as a rebooted machine (the address a
killed keepalived left on the interface is gone, as after a reboot). `kill_kamailio()` and
`hang_kamailio()` fail Kamailio alone on a host that stays up (keepalived's `kamcmd` check must see it);
`start_kamailio()` and `resume_kamailio()` bring it back.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


class EdgeError(RuntimeError):
    pass


def _run(*command: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise EdgeError(f"{' '.join(command)} (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def _killpg(proc: subprocess.Popen[bytes] | None, sig: int) -> None:
    """The process and everything it forked (Kamailio's workers, keepalived's VRRP child): each was
    started in a session of its own."""
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


@dataclass
class Edge:
    """Kamailio (and, for a pair, keepalived) in the namespace of one edge host."""

    namespace: str
    folder: Path
    name: str | None = None  # the pair's host name (cluster.edge.hosts); None: the single edge
    address: str = ""  # this host's own address (the single edge: the service address)
    interface: str = ""  # where keepalived puts the service address
    service_address: str = ""
    proc: subprocess.Popen[bytes] | None = None
    keepalived: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> str:
        return f"unix:{self.folder / 'kamailio_ctl'}"

    def start(self, config: Path, passwords: Path, timeout: float = 15) -> None:
        """Kamailio with generated files; keepalived after it (a pair's: `start_keepalived()`, by the caller)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "kamailio" / "kamailio.cfg", self.folder / "kamailio.cfg")
        _run(sys.executable, "-m", "ivr", "kamailio", "generate", "--config", str(config), "--out", str(self.folder),
             "--passwords", str(passwords), "--ctl-socket", self.socket,
             *(("--edge", self.name) if self.name is not None else ()))
        if self.name is not None:
            _run("ip", "netns", "exec", self.namespace, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1")
        self.start_kamailio(timeout)

    def start_kamailio(self, timeout: float = 15) -> None:
        with (self.folder / "kamailio.log").open("ab") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, "kamailio", "-f", str(self.folder / "kamailio.cfg"),
                 "-DD", "-E", "-Y", str(self.folder), "-P", str(self.folder / "kamailio.pid"),
                 "-A", f'CTL_SOCKET="{self.socket}"'],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EdgeError(f"kamailio exited {self.proc.returncode}: "
                                f"{(self.folder / 'kamailio.log').read_text(errors='replace')[-2000:]}")
            if self.states():
                return
            time.sleep(0.2)
        raise EdgeError(f"kamailio not answering on {self.socket} within {timeout} s")

    def start_keepalived(self) -> None:
        with (self.folder / "keepalived.log").open("ab") as out:
            self.keepalived = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, "keepalived", "--dont-fork", "--log-console", "--log-detail",
                 "--vrrp", "--use-file", str(self.folder / "keepalived.conf"),
                 "--pid", str(self.folder / "keepalived.pid"), "--vrrp_pid", str(self.folder / "vrrp.pid")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def states(self) -> dict[str, str]:
        """Node address → dispatcher flags (AP: active and probed, IP: inactive, probing)."""
        done = _run("kamcmd", "-s", self.socket, "dispatcher.list", check=False, timeout=10)
        states: dict[str, str] = {}
        uri = ""
        for line in done.stdout.splitlines():
            text = line.strip()
            if text.startswith("URI:"):
                uri = text.split("sip:", 1)[-1].split(":")[0]
            elif text.startswith("FLAGS:") and uri:
                states[uri] = text.split(":", 1)[1].strip()
        return states

    def dmq_nodes(self) -> dict[str, str]:
        """The other DMQ nodes this Kamailio knows (`dmq.list_nodes`): address → status (active, pending...)."""
        done = _run("kamcmd", "-s", self.socket, "dmq.list_nodes", check=False, timeout=10)
        nodes: dict[str, str] = {}
        host, status = "", ""
        for line in done.stdout.splitlines():
            key, _, value = line.strip().partition(": ")
            if key == "host":
                host = value
            elif key == "status":
                status = value
            elif key == "local" and value == "0":
                nodes[host] = status
        return nodes

    def registered(self) -> set[str]:
        """The AORs in this Kamailio's location table (`ul.dump`): its own and those DMQ brought."""
        done = _run("kamcmd", "-s", self.socket, "ul.dump", check=False, timeout=10)
        return set(re.findall(r"AoR:\s*(\S+)", done.stdout))

    def contact(self, aor: str) -> dict[str, str]:
        """The fields of `aor`'s first contact in this Kamailio's location table (`ul.dump`: Address,
        Call-ID, CSeq, Received, Socket, ...); {} when it has none."""
        done = _run("kamcmd", "-s", self.socket, "ul.dump", check=False, timeout=10)
        fields: dict[str, str] = {}
        current = ""
        for line in done.stdout.splitlines():
            key, sep, value = line.strip().partition(": ")
            if key == "AoR":
                current = value
            elif current == aor and sep and key not in fields:
                fields[key] = value
        return fields

    def holds_address(self) -> bool:
        """Whether the service address is on this host's interface now (always, for a single edge)."""
        if self.name is None:
            return True
        done = _run("ip", "-n", self.namespace, "-o", "addr", "show", "dev", self.interface, check=False)
        return f" {self.service_address}/" in done.stdout

    def moved_calls(self, address: str) -> set[str]:
        """Call-IDs that kamailio.cfg's failure_route took from the node at `address` to the next one."""
        log = self.folder / "kamailio.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return set(re.findall(rf"node sip:{re.escape(address)}:\d+ failed call (\S+) ", text))

    def lose(self) -> None:
        """The whole host lost at once: its network down, Kamailio and keepalived SIGKILLed."""
        _run("ip", "-n", self.namespace, "link", "set", self.interface, "down")
        for proc in (self.keepalived, self.proc):
            _killpg(proc, signal.SIGKILL)
        for proc in (self.keepalived, self.proc):
            if proc is not None:
                proc.wait(10)

    def kill_kamailio(self) -> None:
        """Kamailio alone SIGKILLed, all its processes (a crash); the host and its keepalived stay up."""
        _killpg(self.proc, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def hang_kamailio(self) -> None:
        """All of Kamailio's processes SIGSTOPped: alive, its sockets open, answering nothing."""
        _killpg(self.proc, signal.SIGSTOP)

    def resume_kamailio(self) -> None:
        _killpg(self.proc, signal.SIGCONT)

    def keepalived_log_size(self) -> int:
        log = self.folder / "keepalived.log"
        return log.stat().st_size if log.exists() else 0

    def wait_keepalived(self, state: str, since: int, timeout: float) -> float:
        """Seconds until keepalived's log, past byte `since`, says it entered `state` (FAULT, BACKUP, MASTER)."""
        started = time.monotonic()
        log = self.folder / "keepalived.log"
        while f"Entering {state} STATE" not in log.read_bytes()[since:].decode(errors="replace"):
            if time.monotonic() - started > timeout:
                raise EdgeError(f"keepalived at {self.namespace} did not enter {state} within {timeout} s")
            time.sleep(0.05)
        return time.monotonic() - started

    def rejoin(self, timeout: float = 15) -> None:
        """Back as a rebooted machine: no service address on the interface, network up, Kamailio and
        keepalived started again."""
        _run("ip", "-n", self.namespace, "addr", "del", f"{self.service_address}/32", "dev", self.interface,
             check=False)
        _run("ip", "-n", self.namespace, "link", "set", self.interface, "up")
        self.start_kamailio(timeout)
        self.start_keepalived()

    def stop(self) -> None:
        self.resume_kamailio()  # a hung one would not hear SIGTERM
        for proc in (self.keepalived, self.proc):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    _killpg(proc, signal.SIGKILL)
                    proc.wait(5)
        for proc in (self.keepalived, self.proc):  # whatever a killed parent left
            _killpg(proc, signal.SIGKILL)


def options_answer(source: str, target: str, port: int, timeout: float = 0.3) -> str | None:
    """One OPTIONS request to the edge itself from `source` (an address on this machine); the answer's
    Server header (kamailio.cfg names the edge there), or None when nothing answered in time."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        local_port = sock.getsockname()[1]
        call_id = f"probe-{time.monotonic_ns()}"
        request = (f"OPTIONS sip:{target}:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {source}:{local_port};branch=z9hG4bK{call_id}\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:probe@{source}>;tag={call_id}\r\nTo: <sip:{target}>\r\n"
                   f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        sock.sendto(request.encode(), (target, port))
        try:
            data = sock.recv(65535).decode(errors="replace")
        except TimeoutError:
            return None
    if not data.startswith("SIP/2.0 200"):
        return None
    match = re.search(r"^Server:\s*(.*?)\r?$", data, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else ""


def invite_answer(source: str, target: str, port: int, number: str, timeout: float = 3.0) -> int | None:
    """A stranger's INVITE (no phone, no node, not the operator) from `source`: the final status."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        local_port = sock.getsockname()[1]
        call_id = f"stranger-{time.monotonic_ns()}"
        body = (f"v=0\r\no=- 1 1 IN IP4 {source}\r\ns=-\r\nc=IN IP4 {source}\r\nt=0 0\r\n"
                "m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n")
        request = (f"INVITE sip:{number}@{target}:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {source}:{local_port};branch=z9hG4bK{call_id}\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:0700000000@{source}>;tag={call_id}\r\n"
                   f"To: <sip:{number}@{target}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
                   f"Contact: <sip:stranger@{source}:{local_port}>\r\nContent-Type: application/sdp\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body}")
        sock.sendto(request.encode(), (target, port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65535).decode(errors="replace")
            except TimeoutError:
                return None
            status = int(data.split(" ", 2)[1]) if data.startswith("SIP/2.0 ") else 0
            if status >= 200:
                return status
    return None
