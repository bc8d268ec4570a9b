"""Steady SIP traffic through the cluster's edge, and what became of every call.

One SIPp process in the callers' namespace places calls at a fixed rate to Kamailio: each citizen
presses 2 (English) and 4 (streets and parks) and waits in kc-streets until an agent has talked to
them (Asterisk hangs up) or `hold` seconds have passed (the citizen hangs up). The scenario is the
harness's citizen (tests/integration/sipp/citizen.xml), which follows the route set: ACK and BYE go
back through Kamailio to whichever node took the call.

`calls()` reads SIPp's message log: per Call-ID, when the INVITE left, the final answer, which node
answered (the 200 OK's Contact), how the call ended. `node_events()` reads a node's Asterisk log:
calls entering the IVR, daemons that did not take a call, and fallbacks (the apology).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .sipp import KeyPcaps, SipMessage, citizen_scenario, sip_messages

MAIN_NUMBER = "4034100"
TEST_NOW = "2026-12-22T10:00"  # a weekday morning: the menu is open whenever the demo runs
KEYS = "2wwwwwww4"  # after a half-second pause: English, then streets and parks


def _stamp(text: str) -> float:
    """SIPp's and Asterisk's log time (this machine's local time) as epoch seconds."""
    return dt.datetime.strptime(text.strip()[:26], "%Y-%m-%d %H:%M:%S.%f").timestamp()


@dataclass
class CallRecord:
    call_id: str
    invited_at: float
    final_status: int | None = None
    node: str | None = None  # address of the Asterisk that answered
    answered_at: float | None = None
    ended: str = "open"  # asterisk-bye | caller-bye | lost | refused | open
    ended_at: float | None = None

    @property
    def failed(self) -> bool:
        return self.ended in ("lost", "refused", "open")


@dataclass
class Traffic:
    work: Path
    namespace: str
    local_address: str
    edge: str  # address:port of Kamailio
    rate: float = 2.0
    total: int = 100
    hold: float = 15.0
    # SIPp sends back every RTP packet it gets (-rtp_echo): an agent who answers hears themselves, so
    # media flows both ways on their leg although the citizen plays nothing after the keys.
    echo: bool = False
    proc: subprocess.Popen[bytes] | None = None
    message_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.message_file = self.work / "citizens.messages.log"

    def start(self) -> None:
        pcap = self.work / "keys.pcap"
        KeyPcaps().write(KEYS, pcap)
        scenario = citizen_scenario(caller="0701[call_number]", hangup_after=self.hold, first_wait=1.5,
                                    groups=[(0.0, pcap)], headers={"X-IVR-Test-Now": TEST_NOW})
        (self.work / "citizens.xml").write_text(scenario, encoding="utf-8")
        self.message_file.unlink(missing_ok=True)
        limit = int(self.total / self.rate + self.hold + 90)
        # Room for every call the rate keeps up at once (a call lasts the hold plus its menu), so SIPp's
        # cap on open calls never slows the offered rate down.
        open_calls = max(200, int(self.rate * (self.hold + 15)))
        command = ["ip", "netns", "exec", self.namespace, "sipp", "-sf", str(self.work / "citizens.xml"),
                   "-i", self.local_address, "-p", "5060", "-mi", self.local_address, "-mp", "16000",
                   "-s", MAIN_NUMBER, "-r", str(self.rate), "-m", str(self.total), "-l", str(open_calls),
                   "-timeout", f"{limit}s", "-max_retrans", "6", "-trace_msg", "-message_file",
                   str(self.message_file), "-trace_err", "-error_file", str(self.work / "citizens.errors.log"),
                   "-nostdin", "-bind_local", *(("-rtp_echo",) if self.echo else ()), self.edge]
        with (self.work / "sipp.out").open("wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return -1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def calls(self) -> list[CallRecord]:
        return summarise(sip_messages(self.message_file))


def _contact_host(message: SipMessage) -> str | None:
    contact = message.header("Contact") or ""
    match = re.search(r"sip:(?:[^@>;]*@)?([0-9.]+)", contact)
    return match.group(1) if match else None


def summarise(messages: Iterable[SipMessage]) -> list[CallRecord]:
    records: dict[str, CallRecord] = {}
    for m in messages:
        call_id = m.header("Call-ID") or ""
        when = _stamp(m.logged_at)
        record = records.get(call_id)
        if m.method == "INVITE" and m.direction == "sent":
            if record is None:
                records[call_id] = CallRecord(call_id, when)
            continue
        if record is None:
            continue
        if m.status is not None and m.cseq_method == "INVITE" and m.status >= 200 and record.final_status is None:
            record.final_status = m.status
            if m.status == 200:
                record.node, record.answered_at = _contact_host(m), when
            else:
                record.ended, record.ended_at = "refused", when
        elif m.method == "BYE" and m.direction == "received":
            record.ended, record.ended_at = "asterisk-bye", when
        elif m.status is not None and m.cseq_method == "BYE" and m.direction == "received":
            record.ended, record.ended_at = ("caller-bye" if m.status == 200 else "lost"), when
    return sorted(records.values(), key=lambda r: r.invited_at)


# --- a node's Asterisk log ------------------------------------------------------------------------

_LINE = re.compile(r"^\[(?P<ts>[0-9-]+ [0-9:.]+)\].*Executing \[(?P<where>[^\]]+)\] (?P<app>\w+)\(\"(?P<chan>[^\"]+)\"")


@dataclass
class NodeEvents:
    entered: dict[str, float] = field(default_factory=dict)  # channel → when it entered the IVR
    retried: dict[str, float] = field(default_factory=dict)  # channel → when a daemon did not take it
    fallback: dict[str, float] = field(default_factory=dict)  # channel → when the apology began


def node_events(log: Path) -> NodeEvents:
    events = NodeEvents()
    if not log.exists():
        return events
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _LINE.match(line)
        if match is None or not match["chan"].startswith("PJSIP/edge-"):
            continue
        when, where, chan = _stamp(match["ts"]), match["where"], match["chan"]
        if where.endswith("@ivr-entry:1"):
            events.entered.setdefault(chan, when)
        elif "did not take the call" in line:
            events.retried.setdefault(chan, when)
        elif where == "s@ivr-fallback:1":
            events.fallback.setdefault(chan, when)
    return events
