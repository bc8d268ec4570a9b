"""SIPp (Debian's sip-tester) as the far ends of real SIP calls: citizens calling in through the
operator's trunk, the operator receiving the city's outbound calls, and agents' phones.

Every run is one `sipp` process on 127.0.0.1, bounded by `-m` (calls) and `-timeout` (seconds),
with its SIP messages traced to a file (`-trace_msg -message_file`) that `sip_messages()` parses,
so a test reads what really went over the wire: the INVITE's From, P-Asserted-Identity, Privacy,
the SDP Asterisk answered with.

Scenario files live in tests/integration/sipp/; they are string.Template files (`${name}` is filled
in here, `[keyword]` is SIPp's own). Keys are sent as RFC 4733 events: the packets of the shipped
/usr/share/sip-tester/dtmf_2833_<d>.pcap, re-sequenced into one pcap per call (strictly increasing
RTP sequence numbers and timestamps, so Asterisk never drops a repeated key as a duplicate) and
played with `play_pcap_audio`.

Ports (harness/ports.py): Asterisk's phones' transport is SIP_PORT and the trunk's TRUNK_PORT; a
citizen's SIPp sends from one of CITIZEN_PORTS to TRUNK_PORT (the sandbox identifies those source
ports as the operator's trunk); the operator UAS listens on OPERATOR_PORT; agents' phones use any
free port and register on SIP_PORT (identified by their digest authentication).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import string
import struct
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .ports import CITIZEN_PORTS, OPERATOR_PORT, SIP_PORT, TRUNK_PORT

HOST = "127.0.0.1"
SCENARIOS = Path(__file__).resolve().parents[1] / "sipp"
PCAP_DIR = Path("/usr/share/sip-tester")
SIPP = "sipp"
# The city's main number as the operator delivers it (asterisk-config/extensions.conf [main-number]).
MAIN_NUMBER = "4034100"

# Compact header forms (RFC 3261 7.3.3) read as their long names.
_COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length", "c": "content-type",
    "f": "from", "s": "subject", "k": "supported", "t": "to", "v": "via",
}
_CODECS = {"PCMA": 8, "PCMU": 0}
# SIPp's own recording of speech (PCMA RTP, about 6.7 s), for an agent phone that talks.
SPEECH_PCAP = PCAP_DIR / "g711a.pcap"
_KEY_FILES = {**{str(d): f"dtmf_2833_{d}.pcap" for d in range(10)}, "*": "dtmf_2833_star.pcap",
              "#": "dtmf_2833_pound.pcap"}


class SippError(RuntimeError):
    pass


Predicate = Callable[["SipMessage"], bool]


# --- the message log ------------------------------------------------------------------------------

class Headers:
    """SIP headers in order: case-insensitive, multi-valued, compact forms under their long names."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self.items: list[tuple[str, str]] = list(items)

    @staticmethod
    def _key(name: str) -> str:
        low = name.strip().lower()
        return _COMPACT.get(low, low)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.get_all(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        key = self._key(name)
        return [v for k, v in self.items if self._key(k) == key]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __repr__(self) -> str:
        return f"Headers({self.items!r})"


@dataclass
class SipMessage:
    """One message from SIPp's message log, as SIPp sent or received it."""

    direction: str  # "sent" | "received"
    start_line: str
    headers: Headers
    body: str
    logged_at: str = ""

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0")

    @property
    def method(self) -> str | None:
        """The request's method (INVITE, BYE, ...); None for a response."""
        return self.start_line.split(" ", 1)[0] if self.is_request else None

    @property
    def status(self) -> int | None:
        """The response's status code; None for a request."""
        if self.is_request:
            return None
        return int(self.start_line.split(" ", 2)[1])

    @property
    def cseq_method(self) -> str:
        """The method a response answers (from CSeq), or the request's own."""
        cseq = self.headers.get("CSeq") or ""
        return cseq.split()[-1] if cseq.split() else (self.method or "")

    @property
    def uri(self) -> str | None:
        return self.start_line.split(" ")[1] if self.is_request else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def sdp_codecs(self) -> list[str]:
        """The codec names of the SDP's audio line in offer order (e.g. ["PCMA", "telephone-event"])."""
        payloads: list[str] = []
        names: dict[str, str] = {}
        for line in self.body.splitlines():
            if line.startswith("m=audio "):
                payloads = line.split()[3:]
            elif line.startswith("a=rtpmap:"):
                pt, _, rest = line[len("a=rtpmap:"):].partition(" ")
                names[pt] = rest.split("/")[0]
        static = {"0": "PCMU", "8": "PCMA"}
        return [names.get(p, static.get(p, p)) for p in payloads]

    def __repr__(self) -> str:
        return f"<SipMessage {self.direction} {self.start_line!r}>"


_SEPARATOR = "-" * 47 + " "


def sip_messages(path: Path | str) -> list[SipMessage]:
    """Parse SIPp's `-trace_msg` message log into messages, in the order SIPp logged them."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    messages: list[SipMessage] = []
    for chunk in text.split("\n" + _SEPARATOR if not text.startswith(_SEPARATOR) else _SEPARATOR):
        chunk = chunk.removeprefix(_SEPARATOR)
        stamp, _, rest = chunk.partition("\n")
        what, _, raw = rest.partition("\n")
        if " message sent" in what:
            direction = "sent"
        elif " message received" in what:
            direction = "received"
        else:
            continue
        message = _parse_message(raw.lstrip("\n"), direction, stamp.strip())
        if message is not None:
            messages.append(message)
    return messages


def _parse_message(raw: str, direction: str, stamp: str) -> SipMessage | None:
    raw = raw.replace("\r\n", "\n")
    head, _, body = raw.partition("\n\n")
    lines = head.split("\n")
    if not lines or not lines[0].strip():
        return None
    items: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and items:  # folded header line
            name, value = items[-1]
            items[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if sep:
            items.append((name.strip(), value.strip()))
    headers = Headers(items)
    length = headers.get("Content-Length")
    if length is not None and length.strip().isdigit():
        body = body.replace("\n", "\r\n")[: int(length)].replace("\r\n", "\n")
    else:
        body = body.rstrip("\n")
    return SipMessage(direction, lines[0].strip(), headers, body, stamp)


# --- the runner -----------------------------------------------------------------------------------

@dataclass
class SippResult:
    returncode: int
    messages: list[SipMessage]
    stdout: str
    stderr: str
    errors: str
    command: list[str]

    def requests(self, method: str, direction: str | None = None) -> list[SipMessage]:
        return [m for m in self.messages
                if m.method == method and (direction is None or m.direction == direction)]

    def responses(self, method: str, direction: str | None = None) -> list[SipMessage]:
        return [m for m in self.messages if m.status is not None and m.cseq_method == method
                and (direction is None or m.direction == direction)]

    def explain(self) -> str:
        lines = [f"sipp exited {self.returncode}: {' '.join(self.command)}"]
        lines += [f"  {m.direction:8} {m.start_line}" for m in self.messages]
        if self.errors.strip():
            lines.append("--- errors ---\n" + self.errors.strip()[-3000:])
        if self.stderr.strip():
            lines.append("--- stderr ---\n" + self.stderr.strip()[-2000:])
        return "\n".join(lines)

    def check(self) -> SippResult:
        if self.returncode != 0:
            raise SippError(self.explain())
        return self


# Ports handed to SIPp processes of this test run that may not have bound them yet.
_reserved: set[int] = set()


def free_udp_port(candidates: Iterable[int] | None = None, span: int = 1) -> int:
    """A UDP port on 127.0.0.1 that is free now (with the `span - 1` ports after it) and not handed
    out to another SIPp of this run: the first such of `candidates`, or one the kernel picks. It stays
    reserved until `release_port()`."""
    def free(port: int) -> bool:
        if any(p in _reserved for p in range(port, port + span)):
            return False
        socks: list[socket.socket] = []
        try:
            for p in range(port, port + span):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((HOST, p))
            return True
        except OSError:
            return False
        finally:
            for s in socks:
                s.close()

    if candidates is not None:
        for port in candidates:
            if free(port):
                _reserved.update(range(port, port + span))
                return port
        raise SippError(f"no free UDP port among {list(candidates)}")
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        port -= port % 2
        if port + span < 65536 and free(port):
            _reserved.update(range(port, port + span))
            return port
    raise SippError("no free UDP port range for RTP")


def release_port(port: int, span: int = 1) -> None:
    _reserved.difference_update(range(port, port + span))


def render(name: str, **values: object) -> str:
    """A scenario file from tests/integration/sipp/ with its ${placeholders} filled in."""
    template = string.Template((SCENARIOS / name).read_text(encoding="utf-8"))
    return template.substitute({k: str(v) for k, v in values.items()})


class Sipp:
    """One SIPp process: `await run()` for a bounded run to completion, or `start()` / `wait()` for a
    process that runs alongside the test (an operator or a phone waiting for calls)."""

    def __init__(
        self,
        scenario: str,
        *,
        workdir: Path,
        remote: str | None = f"{HOST}:{SIP_PORT}",
        port: int | None = None,
        calls: int = 1,
        timeout: float = 60,
        keys: dict[str, str] | None = None,
        service: str | None = None,
        auth: tuple[str, str] | None = None,
        ooc_scenario: str | None = None,
        extra: Iterable[str] = (),
        name: str = "sipp",
        host: str = HOST,
        netns: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.host = host
        self.workdir.mkdir(parents=True, exist_ok=True)
        tag = f"{name}-{uuid.uuid4().hex[:8]}"
        self.scenario_file = workdir / f"{tag}.xml"
        self.scenario_file.write_text(scenario, encoding="utf-8")
        self.message_file = workdir / f"{tag}.messages.log"
        self.error_file = workdir / f"{tag}.errors.log"
        self.port = port if port is not None else free_udp_port()
        self.media_port = free_udp_port(span=4)
        self.timeout = timeout
        cmd = [SIPP, "-sf", str(self.scenario_file), "-i", host, "-p", str(self.port), "-mi", host,
               "-mp", str(self.media_port), "-m", str(calls),
               "-timeout", f"{int(timeout)}s", "-timeout_error", "-max_retrans", "4",
               "-trace_msg", "-message_file", str(self.message_file),
               "-trace_err", "-error_file", str(self.error_file), "-nostdin", "-bind_local"]
        if ooc_scenario is not None:
            ooc_file = workdir / f"{tag}.ooc.xml"
            ooc_file.write_text(ooc_scenario, encoding="utf-8")
            cmd += ["-oocsf", str(ooc_file)]
        if service is not None:
            cmd += ["-s", service]
        if auth is not None:
            cmd += ["-au", auth[0], "-ap", auth[1]]
        for key, value in (keys or {}).items():
            cmd += ["-key", key, value]
        cmd += list(extra)
        if remote is not None:
            cmd.append(remote)
        # In a network namespace (a cluster node's, harness/cluster.py): its own loopback and ports.
        self.command = ["ip", "netns", "exec", netns, *cmd] if netns is not None else cmd
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=self.workdir, start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def messages(self) -> list[SipMessage]:
        """What SIPp has logged so far (SIPp writes its log as it goes)."""
        return sip_messages(self.message_file)

    async def wait_message(self, predicate: Predicate, timeout: float, what: str) -> SipMessage:
        """Poll the message log (bounded) until a message matches."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages():
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise SippError(f"no {what} within {timeout} s; SIPp logged:\n"
                                + "\n".join(f"  {m.direction:8} {m.start_line}" for m in self.messages()))
            if self.process is not None and self.process.returncode is not None:
                raise SippError(f"SIPp ended before {what}:\n{(await self.wait(1)).explain()}")
            await asyncio.sleep(0.1)

    async def wait(self, timeout: float | None = None) -> SippResult:
        """Wait for SIPp to exit (it is bounded by its own -timeout; killed a little after that)."""
        assert self.process is not None, "not started"
        limit = timeout if timeout is not None else self.timeout + 15
        try:
            stdout, stderr = await asyncio.wait_for(self.process.communicate(), limit)
        except TimeoutError:
            self.kill()
            stdout, stderr = await self.process.communicate()
        release_port(self.port)
        release_port(self.media_port, 4)
        errors = self.error_file.read_text(errors="replace") if self.error_file.exists() else ""
        return SippResult(self.process.returncode if self.process.returncode is not None else -1,
                          self.messages(), stdout.decode(errors="replace"), stderr.decode(errors="replace"),
                          errors, self.command)

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    async def run(self, timeout: float | None = None) -> SippResult:
        await self.start()
        return await self.wait(timeout)

    def poke(self, method: str = "MESSAGE") -> None:
        """Send the scenario's first call (its Call-ID is `1-<pid>@127.0.0.1`) an in-dialog request;
        the agent phone's scenario waits for one to unregister and end."""
        host = self.host
        call_id = f"1-{self.pid}@{host}"
        message = (f"{method} sip:phone@{host}:{self.port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {host}:9;branch=z9hG4bK-{uuid.uuid4().hex}\r\n"
                   f"From: <sip:harness@{host}>;tag={uuid.uuid4().hex[:8]}\r\n"
                   f"To: <sip:phone@{host}>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n"
                   "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), (host, self.port))


# --- RFC 4733 keys ------------------------------------------------------------------------------

KEY_PAUSE = 0.5  # "w" in a key string: half a second, like [caller-sim]'s SIM_DTMF
KEY_GAP = 0.3  # between two keys (each shipped key pcap lasts 0.14 s)


def _pcap_packets(path: Path) -> Iterator[tuple[float, bytes]]:
    data = path.read_bytes()
    offset = 24
    while offset + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack("<IIII", data[offset:offset + 16])
        offset += 16
        yield sec + usec / 1e6, data[offset:offset + incl]
        offset += incl


class KeyPcaps:
    """Writes pcaps of RFC 4733 key presses for one call: the packets of the shipped per-key pcaps
    with RTP sequence numbers and timestamps that keep increasing across all the call's pcaps."""

    def __init__(self) -> None:
        self.seq = 1000
        self.rtp_ts = 8000

    def write(self, keys: str, path: Path) -> float:
        """A pcap pressing `keys` (digits, * and #; "w" pauses KEY_PAUSE); returns its length in s."""
        out = bytearray((PCAP_DIR / _KEY_FILES["0"]).read_bytes()[:24])
        t = 0.0
        for key in keys:
            if key == "w":
                t += KEY_PAUSE
                self.rtp_ts += int(KEY_PAUSE * 8000)
                continue
            if key not in _KEY_FILES:
                raise ValueError(f"not a key: {key!r}")
            packets = list(_pcap_packets(PCAP_DIR / _KEY_FILES[key]))
            first = packets[0][0]
            for when, frame in packets:
                pkt = bytearray(frame)
                rtp = 42  # Ethernet 14 + IPv4 20 + UDP 8 in the shipped files
                struct.pack_into(">H", pkt, rtp + 2, self.seq & 0xFFFF)
                struct.pack_into(">I", pkt, rtp + 4, self.rtp_ts)  # one event: one timestamp for its packets
                self.seq += 1
                sec, usec = divmod(round((t + when - first) * 1e6), 1_000_000)
                out += struct.pack("<IIII", sec, usec, len(pkt), len(pkt))
                out += pkt
            length = packets[-1][0] - first + KEY_GAP
            t += length
            self.rtp_ts += int(length * 8000) + 160
        path.write_bytes(bytes(out))
        return t


def _check_keys(keys: str) -> None:
    bad = set(keys) - set(_KEY_FILES) - {"w"}
    if bad:
        raise ValueError(f"keys {keys!r}: only 0-9 * # and w pauses")


# --- roles ----------------------------------------------------------------------------------------

def _workdir(workdir: Path | None) -> Path:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="sipp-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


# One group of keys: the pause before its first key (SIPp replays a pcap from its first packet, so
# leading "w"s are a scenario <pause>), and its pcap (None: no keys).
KeyGroup = tuple[float, "Path | None"]


def _key_steps(first_wait: float, groups: list[KeyGroup], wait_ms: int, *, payload: int = 8,
               codec: str = "PCMA") -> str:
    """The scenario steps that press the keys: the first group `first_wait` s after the answer, each
    later one when the harness's MESSAGE arrives (Asterisk's BYE meanwhile ends the call cleanly). While
    the citizen waits for a MESSAGE, Asterisk may re-INVITE or UPDATE the call (e.g. the connected line
    of the agent who answered): answered, and the wait goes on."""
    steps: list[str] = []
    for i, (lead, pcap) in enumerate(groups):
        if i == 0:
            steps.append(f'<pause milliseconds="{int((first_wait + lead) * 1000)}"/>')
        else:
            steps.append(f"""<label id="group{i}"/>
  <recv request="INVITE" optional="true" next="reinvite{i}" timeout="{wait_ms}"/>
  <recv request="UPDATE" optional="true" next="update{i}"/>
  <recv request="BYE" optional="true" next="bye_ok"/>
  <recv request="MESSAGE" next="message{i}"/>
  <label id="reinvite{i}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:operator@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 53655765 2353687638 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP {payload} 101
      a=rtpmap:{payload} {codec}/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv request="ACK" next="group{i}"/>
  <label id="update{i}"/>
  <send next="group{i}">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:operator@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <label id="message{i}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=press{i}
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>""")
            if lead > 0:
                steps.append(f'<pause milliseconds="{int(lead * 1000)}"/>')
        if pcap is not None:
            steps.append(f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
    return "\n  ".join(steps)


@dataclass
class CitizenCall:
    """What a citizen's call looked like on the wire."""

    result: SippResult
    number: str
    caller: str | None
    codec: str

    @property
    def invite(self) -> SipMessage:
        return self.result.requests("INVITE", "sent")[0]

    @property
    def answer(self) -> SipMessage | None:
        """Asterisk's 200 OK to the INVITE (with the SDP it chose)."""
        ok = [m for m in self.result.responses("INVITE", "received") if m.status == 200]
        return ok[0] if ok else None

    @property
    def hung_up_by_asterisk(self) -> bool:
        return bool(self.result.requests("BYE", "received"))


def citizen_scenario(
    *, caller: str | None, display: str | None = None, withheld: bool = False, codec: str = "PCMA",
    first_wait: float = 1.0, hold: float = 60.0, hangup_after: float | None = None,
    groups: list[KeyGroup] | None = None, asserted: str | None = None, headers: Mapping[str, str] | None = None,
) -> str:
    if codec not in _CODECS:
        raise ValueError(f"codec must be one of {sorted(_CODECS)}")
    extra: list[str] = [f"{name}: {value}" for name, value in (headers or {}).items()]
    if withheld:
        from_header = '"Anonymous" <sip:anonymous@anonymous.invalid>'
        extra.append("Privacy: id")
        if asserted:
            extra.append(f"P-Asserted-Identity: <sip:{asserted}@[local_ip]>")
    else:
        if not caller:
            raise ValueError("a caller number, or withheld=True")
        name = f'"{display}" ' if display else ""
        from_header = f"{name}<sip:{caller}@[local_ip]:[local_port]>"
    wait_ms = int((hangup_after if hangup_after is not None else hold) * 1000)
    return render(
        "citizen.xml", from_header=from_header, extra_headers="\n      ".join(extra) or "Subject: call",
        payload=_CODECS[codec], codec=codec,
        keys=_key_steps(first_wait, groups or [], wait_ms, payload=_CODECS[codec], codec=codec),
        wait_ms=wait_ms,
        on_timeout='ontimeout="hangup"' if hangup_after is not None else "",
    )


class Citizen:
    """A citizen's call in progress (SIPp UAC through the operator's trunk): `press()` presses the
    next group of `then` keys now; `result()` waits for the call to end."""

    def __init__(self, sipp: Sipp, number: str, caller: str | None, codec: str, then: list[str]) -> None:
        self.sipp = sipp
        self.number = number
        self.caller = caller
        self.codec = codec
        self.then = then
        self.pressed = 0

    async def press(self, timeout: float = 10) -> str:
        """Press the next group of keys (`then`), now; returns them once SIPp took the request."""
        if self.pressed >= len(self.then):
            raise SippError(f"no more keys to press (then={self.then})")
        self.pressed += 1
        self.sipp.poke()
        tag = f"tag=press{self.pressed}"
        await self.sipp.wait_message(lambda m: m.direction == "sent" and m.status == 200
                                     and m.cseq_method == "MESSAGE" and tag in (m.headers.get("To") or ""),
                                     timeout, f"the press of {self.then[self.pressed - 1]!r}")
        return self.then[self.pressed - 1]

    async def result(self, check: bool = True) -> CitizenCall:
        result = await self.sipp.wait()
        if check:
            result.check()
        return CitizenCall(result, self.number, self.caller, self.codec)

    def kill(self) -> None:
        self.sipp.kill()


async def start_citizen(
    number: str = MAIN_NUMBER,
    keys: str = "",
    *,
    then: Iterable[str] = (),
    caller: str | None = "0701234567",
    display: str | None = None,
    withheld: bool = False,
    asserted: str | None = None,
    headers: Mapping[str, str] | None = None,
    codec: str = "PCMA",
    first_wait: float = 1.0,
    hold: float = 60.0,
    hangup_after: float | None = None,
    remote: str = f"{HOST}:{TRUNK_PORT}",
    workdir: Path | None = None,
) -> Citizen:
    """A citizen calls `number` through the operator's trunk (SIPp UAC from one of CITIZEN_PORTS to
    the trunk's transport) and presses `keys` as RFC 4733 events `first_wait` s after the answer (and
    each group of `then` when the test calls `press()`). It waits up to `hold` s for Asterisk's BYE
    (an error if none comes) or, with `hangup_after`, hangs up itself after that many seconds unless
    Asterisk did first. Withheld: anonymous From and `Privacy: id` (with `asserted` as the network's
    P-Asserted-Identity, if given). `headers` are added to the INVITE."""
    then = list(then)
    for group in [keys, *then]:
        _check_keys(group)
    work = _workdir(workdir)
    writer = KeyPcaps()
    groups: list[KeyGroup] = []
    for i, group in enumerate([keys, *then]):
        pressed = group.lstrip("w")
        lead = KEY_PAUSE * (len(group) - len(pressed))
        if pressed:
            path = work / f"keys-{uuid.uuid4().hex[:8]}-{i}.pcap"
            writer.write(pressed, path)
            groups.append((lead, path))
        else:
            groups.append((lead, None))
    scenario = citizen_scenario(caller=caller, display=display, withheld=withheld, codec=codec,
                                first_wait=first_wait, hold=hold, hangup_after=hangup_after, groups=groups,
                                asserted=asserted, headers=headers)
    limit = (hangup_after if hangup_after is not None else hold) * (len(then) + 1) + first_wait + 30
    sipp = Sipp(scenario, workdir=work, remote=remote, port=free_udp_port(CITIZEN_PORTS), timeout=limit,
                service=number, name="citizen")
    await sipp.start()
    return Citizen(sipp, number, None if withheld else caller, codec, then)


async def citizen_call(number: str = MAIN_NUMBER, keys: str = "", *, check: bool = True,
                       **options: Any) -> CitizenCall:
    """`start_citizen(...)` and wait for the call to end (see there)."""
    citizen = await start_citizen(number, keys, **options)
    return await citizen.result(check)


def uas_scenario(user: str, *, ring: float, answer: bool = True, hangup_after: float | None = None,
                 hold: float = 120.0, media: Path | None = None, record_route: bool = False) -> str:
    """`media`: a pcap of RTP audio the UAS plays from the answer on (None: it sends no audio).
    `record_route`: the answers copy the INVITE's Record-Route (a proxy in the path; SIPp would
    leave an empty header line where there is none, so only when there is one)."""
    talk_media = f'<nop><action><exec play_pcap_audio="{media}"/></action></nop>' if media is not None else ""
    return render(
        "uas.xml", user=user, ring_ms=int(ring * 1000), answer_goto="" if answer else 'next="busy"',
        record_route="\n      [last_Record-Route:]" if record_route else "",
        wait_ms=int((hangup_after if hangup_after is not None else hold) * 1000),
        on_timeout='ontimeout="hangup"' if hangup_after is not None else "", talk_media=talk_media,
    )


@dataclass
class OperatorUas:
    """SIPp as the operator's network: answers the INVITEs Asterisk sends to the trunk and records
    them. `invites()` reads them from the message log while it runs."""

    sipp: Sipp
    calls: int

    def invites(self) -> list[SipMessage]:
        return [m for m in self.sipp.messages() if m.method == "INVITE" and m.direction == "received"]

    async def wait_invite(self, timeout: float = 30, count: int = 1) -> SipMessage:
        deadline = time.monotonic() + timeout
        while True:
            found = self.invites()
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise SippError(f"the operator got {len(found)} INVITE(s) within {timeout} s, expected {count}")
            if self.sipp.process is not None and self.sipp.process.returncode is not None:
                raise SippError(f"the operator's SIPp ended:\n{(await self.sipp.wait(1)).explain()}")
            await asyncio.sleep(0.1)

    async def result(self, timeout: float | None = None) -> SippResult:
        return await self.sipp.wait(timeout)


@contextlib.asynccontextmanager
async def operator_uas(
    *, calls: int = 1, answer: bool = True, ring: float = 0.2, hangup_after: float | None = None,
    hold: float = 120.0, port: int = OPERATOR_PORT, workdir: Path | None = None, timeout: float = 120,
    netns: str | None = None,
) -> AsyncIterator[OperatorUas]:
    """The operator trunk's far end on `port`: for each of up to `calls` INVITEs, rings for `ring` s
    and answers (or, with answer=False, declines with 486 Busy Here), then waits up to `hold` s for
    Asterisk's BYE, or hangs up itself after `hangup_after` s. Stopped (killed) on exit. `netns`: on the
    loopback of that network namespace (a cluster node's)."""
    scenario = uas_scenario("operator", ring=ring, answer=answer, hangup_after=hangup_after, hold=hold)
    sipp = Sipp(scenario, workdir=_workdir(workdir), remote=None, port=port, calls=calls, timeout=timeout,
                name="operator", netns=netns)
    await sipp.start()
    try:
        yield OperatorUas(sipp, calls)
    finally:
        sipp.kill()
        with contextlib.suppress(Exception):
            await sipp.wait(5)


@dataclass
class AgentPhone:
    """SIPp as an agent's desk phone: registered (digest auth) from `host`:`port` (127.0.0.1 unless
    told) at `registrar` (the sandbox's Asterisk unless told: the cluster's Kamailio), answering the
    queue's INVITEs; `dial()` calls a feature code from it."""

    sipp: Sipp
    extension: str
    password: str
    port: int
    workdir: Path
    host: str = HOST
    registrar: str = f"{HOST}:{SIP_PORT}"

    def messages(self) -> list[SipMessage]:
        return self.sipp.messages()

    def invites(self) -> list[SipMessage]:
        """INVITEs Asterisk sent to the phone (a queue or a callback ringing it)."""
        return [m for m in self.messages() if m.method == "INVITE" and m.direction == "received"]

    async def registered(self, timeout: float = 15) -> SipMessage:
        return await self.sipp.wait_message(
            lambda m: m.direction == "received" and m.status == 200 and m.cseq_method == "REGISTER",
            timeout, "200 OK to the REGISTER")

    async def dial(self, code: str, *, timeout: float = 30) -> SippResult:
        """Dial `code` (e.g. "*45") as this phone (a second SIPp, authenticating as the phone);
        Asterisk answers, the daemon acts, and Asterisk hangs up."""
        scenario = render("agent_dial.xml", extension=self.extension, wait_ms=int(timeout * 1000))
        sipp = Sipp(scenario, workdir=self.workdir, timeout=timeout + 10, service=code, remote=self.registrar,
                    auth=(self.extension, self.password), name=f"dial-{self.extension}", host=self.host)
        return (await sipp.run()).check()

    async def rung(self, timeout: float = 30, count: int = 1) -> SipMessage:
        """The `count`-th INVITE Asterisk sent to the phone."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.invites()
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise SippError(f"phone {self.extension} got {len(found)} INVITE(s) within {timeout} s")
            if self.sipp.process is not None and self.sipp.process.returncode is not None:
                raise SippError(f"phone {self.extension}'s SIPp ended:\n{(await self.sipp.wait(1)).explain()}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def agent_phone(
    extension: str, password: str, *, answer: bool = True, answer_after: float = 0.5, talk: float = 3.0,
    stay: float = 180.0, workdir: Path | None = None, media: Path | None = None, host: str = HOST,
    registrar: str = f"{HOST}:{SIP_PORT}",
) -> AsyncIterator[AgentPhone]:
    """Agent phone `extension` REGISTERs with digest auth (`password`) and stays registered; every
    INVITE to it rings `answer_after` s and is answered (or declined with 486 when answer=False), and
    the phone hangs up after `talk` s unless Asterisk did first; OPTIONS (qualify) are answered. On
    exit (or after `stay` s) it unregisters (Expires: 0) and SIPp ends. `media`: a pcap of speech the
    phone sends once it has answered (e.g. SPEECH_PCAP), for tests that need audio in the call."""
    work = _workdir(workdir)
    main = render("agent_main.xml", extension=extension, stay_ms=int(stay * 1000))
    ooc = uas_scenario(extension, ring=answer_after, answer=answer, hangup_after=talk, media=media,
                       record_route=registrar != f"{HOST}:{SIP_PORT}")
    sipp = Sipp(main, workdir=work, calls=1, timeout=stay + 30, auth=(extension, password), ooc_scenario=ooc,
                name=f"phone-{extension}", service=extension, remote=registrar, host=host)
    await sipp.start()
    phone = AgentPhone(sipp, extension, password, sipp.port, work, host, registrar)
    try:
        await phone.registered()
        yield phone
    finally:
        if sipp.process is not None and sipp.process.returncode is None:
            sipp.poke()
            try:
                await phone.sipp.wait_message(
                    lambda m: m.direction == "received" and m.status == 200 and m.cseq_method == "REGISTER"
                    and (m.headers.get("CSeq") or "").startswith("4 "), 10, "the unregistration's 200 OK")
            finally:
                sipp.kill()
                await sipp.wait(5)


# --- the sandbox side ---------------------------------------------------------------------------

def agent_passwords(etc: Path) -> dict[str, str]:
    """Extension -> password from the sandbox's pjsip_agents_auth.conf (`ivr asterisk passwords`)."""
    passwords: dict[str, str] = {}
    username: str | None = None
    path = etc / "pjsip_agents_auth.conf"
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = (part.strip() for part in line.partition("="))
        if line.startswith("["):
            username = None
        elif sep and key == "username":
            username = value
        elif sep and key == "password" and username is not None:
            passwords[username] = value
    return passwords


def inbound_trunk_configured(etc: Path) -> bool:
    """Does the installed PJSIP configuration identify a citizen's SIPp (CITIZEN_PORTS) as a trunk?"""
    first = f"{HOST}:{CITIZEN_PORTS[0]}"
    return any(first in p.read_text(encoding="utf-8", errors="replace") for p in etc.glob("pjsip*.conf"))
