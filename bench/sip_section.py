"""Section 5: load over SIP. SIPp, as the operator's trunk, sends citizens at rising calls/s with RTP
(A-law audio and the walk's keys as RFC 4733 events, from pcaps) through the daemon's menu into
queues, and, in the same run, through the same menu as native dialplan.

The benchmark runs its own sandbox instance (IVR_SANDBOX_INSTANCE, as every sandbox command) on a copy
of asterisk-config/ with bench/asterisk/ added (the native menu, reached by its own number 4034199
through the same trunk endpoint) and with 2 s tones for prompts (bench/prompts.py, SipPlan.prompt_s).
Citizens come from one SIPp UAC on a port the sandbox identifies as the operator's trunk
(asterisk-config/sandbox/pjsip_trunk.conf), to the trunk's transport, only on 127.0.0.1. Once answered,
each call sends audio, presses its walk's keys (bench/walks.py: the same walks as section 2), holds
`hold_s` and hangs up; it passes when its channel joins the walk's queue (AMI QueueCallerJoin, matched
by the caller number SIPp put in From). Each step sends `rate` calls a second for `window_s` (SIPp -r,
bounded by -m, -l and -timeout); rates rise until a step has a failure, for each route. CPU of
Asterisk and of the daemon comes from /proc, SIPp's own from the rusage of the children this process
reaped (only SIPp).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import string
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.asterisk_section import IVR_SECRET, IVR_USER, TEST_SECRET, TEST_USER, Sandbox, prepare_config
from bench.procs import DaemonUnderTest
from bench.prompts import write_short_prompts
from bench.stats import sample
from bench.walks import MAIN_DNID, WALKS, Walk
from ivr.ami.client import AmiClient
from ivr.validate import load_config

SIPP = "sipp"
SCENARIO = Path(__file__).resolve().parent / "sipp" / "citizen_load.xml"
PCAP_DIR = Path("/usr/share/sip-tester")
HOST = "127.0.0.1"
# bench/asterisk/bench_extensions.conf: [main-number] sends this number to the native menu.
NATIVE_DNID = "4034199"
ROUTES = {"ivr run": MAIN_DNID, "native dialplan": NATIVE_DNID}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SipPlan:
    rates: tuple[float, ...] = (5, 10, 15, 20, 30, 40)
    window_s: float = 6.0  # each step sends `rate` calls a second for this long
    first_wait_s: float = 0.5  # from the answer to the first key (as section 2's [caller-sim])
    # Every prompt is a tone this long. Citizens press on a timer (1 s between keys, as section 2), and
    # a key that reaches Asterisk while the daemon is between two AGI commands is lost (res_agi reads
    # and drops it); with 2 s prompts the walk's keys land while a prompt plays, as a real caller's
    # do, instead of in the gaps between section 2's 0.2 s prompts.
    prompt_s: float = 2.0
    # After the last key, before the citizen hangs up: room for "connecting" and, on the daemon's
    # route when the queue is busy, the callback offer ([ivr-queue]) before Queue().
    hold_s: float = 6.0
    answer_s: float = 30.0  # a call that gets no 200 OK in this long fails in SIPp
    settle_s: float = 15.0  # after SIPp ended, how long the bench still waits for late QueueCallerJoins
    audio: bool = True  # A-law audio from sip-tester's g711a.pcap between the keys (else keys only)
    stop_at_first_failure: bool = True
    idle_s: float = 5.0  # CPU of Asterisk and the daemon with no calls, measured first (0: not measured)


# --- media: one pcap per walk ----------------------------------------------------------------------

_KEY_FILES = {**{str(d): f"dtmf_2833_{d}.pcap" for d in range(10)}, "*": "dtmf_2833_star.pcap",
              "#": "dtmf_2833_pound.pcap"}
_FRAME_S = 0.02  # 20 ms of A-law: 160 bytes
_RTP_AT = 42  # Ethernet 14 + IPv4 20 + UDP 8 in sip-tester's pcaps
_SSRC = 0x1B0C5E11
KEY_PAUSE_S = 0.5  # "w" in a walk's keys, as SendDTMF's
KEY_GAP_S = 0.3  # after each key's events (each shipped key lasts 0.14 s)


def _pcap_packets(path: Path) -> list[tuple[float, bytes]]:
    data = path.read_bytes()
    packets: list[tuple[float, bytes]] = []
    offset = 24
    while offset + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack("<IIII", data[offset:offset + 16])
        offset += 16
        packets.append((sec + usec / 1e6, data[offset:offset + incl]))
        offset += incl
    return packets


def _alaw_stream() -> bytes:
    """sip-tester's g711a.pcap as one A-law byte stream (7 s of speech-like audio)."""
    return b"".join(frame[_RTP_AT + 12:] for _, frame in _pcap_packets(PCAP_DIR / "g711a.pcap"))


def _udp_frame(template: bytes, rtp: bytes) -> bytes:
    """`rtp` in the Ethernet/IPv4/UDP headers of `template`, lengths fixed, UDP checksum off (0)."""
    frame = bytearray(template[:_RTP_AT]) + rtp
    struct.pack_into(">H", frame, 16, 20 + 8 + len(rtp))  # IPv4 total length
    struct.pack_into(">H", frame, 18 + 20, 8 + len(rtp))  # UDP length (offset 38)
    struct.pack_into(">H", frame, 40, 0)  # UDP checksum: none
    return bytes(frame)


def write_walk_pcap(keys: str, path: Path, *, first_wait_s: float, audio: bool, tail_s: float = 0.0) -> float:
    """A pcap of one citizen's call: A-law audio every 20 ms (if `audio`, until `tail_s` after the last
    key) and, from `first_wait_s`, the walk's keys as RFC 4733 events (the packets of sip-tester's
    dtmf_2833_<d>.pcap; audio pauses during an event, as phones do), one SSRC, strictly increasing
    sequence numbers and timestamps on one 8 kHz clock. Returns when the last key has ended (s)."""
    events: list[tuple[float, str]] = []
    t = first_wait_s
    for key in keys:
        if key == "w":
            t += KEY_PAUSE_S
            continue
        if key not in _KEY_FILES:
            raise ValueError(f"not a key: {key!r}")
        events.append((t, key))
        t += 0.14 + KEY_GAP_S
    length = t
    packets: list[tuple[float, int, bytes]] = []  # (time, order, rtp without header fields) sorted below
    key_template = _pcap_packets(PCAP_DIR / _KEY_FILES["0"])[0][1]
    for at, key in events:
        key_packets = _pcap_packets(PCAP_DIR / _KEY_FILES[key])
        first = key_packets[0][0]
        for when, frame in key_packets:
            packets.append((at + when - first, 1, bytes(frame[_RTP_AT:])))
    busy = [(at - _FRAME_S, at + 0.14 + _FRAME_S) for at, _ in events]
    if audio:
        stream = _alaw_stream()
        frame_bytes = int(8000 * _FRAME_S)
        count = int((length + tail_s) / _FRAME_S)
        for i in range(count):
            at = i * _FRAME_S
            if any(lo <= at <= hi for lo, hi in busy):
                continue
            start = (i * frame_bytes) % (len(stream) - frame_bytes)
            header = struct.pack(">BBHII", 0x80, 8, 0, 0, 0)
            packets.append((at, 0, header + stream[start:start + frame_bytes]))
    packets.sort(key=lambda p: (p[0], p[1]))
    out = bytearray((PCAP_DIR / _KEY_FILES["0"]).read_bytes()[:24])
    seq = 1000
    event_ts: dict[float, int] = {}
    for at, kind, rtp in packets:
        pkt = bytearray(rtp)
        if kind == 1:  # one event: one timestamp for all its packets (its start)
            event_at = max(e for e, _ in events if e <= at + 1e-9)
            timestamp = event_ts.setdefault(event_at, 8000 + round(event_at * 8000))
        else:
            timestamp = 8000 + round(at * 8000)
        struct.pack_into(">HII", pkt, 2, seq & 0xFFFF, timestamp, _SSRC)
        seq += 1
        frame = _udp_frame(key_template, bytes(pkt))
        sec, usec = divmod(round(at * 1e6), 1_000_000)
        out += struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))
    return length


# --- SIPp ------------------------------------------------------------------------------------------

@dataclass
class SippStep:
    """One SIPp run: `calls` citizens at `rate` calls/s to `number`, each caller number in `callers`."""

    returncode: int
    stats: dict[str, str]
    errors: list[str]
    seconds: float

    def counter(self, name: str) -> int:
        value = self.stats.get(name, "")
        return int(value) if value.isdigit() else 0


def sipp_command(*, scenario: Path, inject: Path, stats: Path, errors: Path, number: str, rate: float,
                 calls: int, limit: int, timeout_s: int, port: int, media_port: int, remote: str) -> list[str]:
    # -r/-rp: `rate` calls a second (as a whole number of calls per 10 s); -m, -l and -timeout bound it.
    per_10s = max(1, round(rate * 10))
    return [SIPP, "-sf", str(scenario), "-inf", str(inject), "-s", number, "-i", HOST, "-p", str(port),
            "-mi", HOST, "-mp", str(media_port), "-r", str(per_10s), "-rp", "10000", "-m", str(calls),
            "-l", str(limit), "-timeout", f"{timeout_s}s", "-max_retrans", "4", "-nostdin",
            "-trace_stat", "-stf", str(stats), "-fd", "1", "-trace_err", "-error_file", str(errors), remote]


def read_stats(path: Path) -> dict[str, str]:
    """The last line of SIPp's statistics file (-trace_stat), by column."""
    if not path.exists():
        return {}
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    names = lines[0].rstrip(";").split(";")
    values = lines[-1].rstrip(";").split(";")
    return dict(zip(names, values, strict=False))


_ENTRY = re.compile(r"\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: ")
# What SIPp logs for calls that went as planned: the citizen's own hang-up when Asterisk sent no BYE
# (the scenario's ontimeout), and a retransmitted 200 OK to its BYE arriving after the call ended.
_PLANNED = {"receive timeout on message bench citizen: jumping to label": "the citizen hung up itself (planned)",
            "Dead call (successful), received 'SIP/2.0 200 OK": "a late 200 OK to the citizen's BYE (retransmitted)"}


def error_kinds(path: Path, limit: int = 6) -> list[str]:
    """The kinds of event SIPp logged (-trace_err), most common first, call numbers left out."""
    if not path.exists():
        return []
    kinds: Counter[str] = Counter()
    for entry in _ENTRY.split(path.read_text(errors="replace"))[1:]:
        first = entry.split("\n", 1)[0]
        text = re.sub(r"Call-Id: \S+ ?", "", first)  # the call's number and position in the scenario
        text = re.sub(r"\b\d+-\d+@[\d.]+ ?", "", text)
        text = re.sub(r":\d+,", ":", text)
        text = " ".join(re.sub(r"label \d+.*", "label", text).split())
        kinds[_PLANNED.get(text, text[:120])] += 1
    return [f"{count}× {text}" for text, count in kinds.most_common(limit)]


def daemon_outcomes(log: Path, since: float, until: float) -> dict[str, int]:
    """How the daemon's menus ended between two times (its `menu finished` log lines): queue,
    abandoned (the caller hung up in the menu), ..."""
    found: Counter[str] = Counter()
    if not log.exists():
        return {}
    for line in log.read_text(errors="replace").splitlines():
        if '"menu finished"' not in line:
            continue
        with contextlib.suppress(ValueError, KeyError):
            entry = json.loads(line)
            when = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
            if since <= when <= until:
                found[str(entry.get("outcome"))] += 1
    return dict(found)


# --- the bench -------------------------------------------------------------------------------------

class Joins:
    """QueueCallerJoin events on AMI, by caller number: the queue and the channel."""

    def __init__(self, ami: AmiClient) -> None:
        self.by_caller: dict[str, tuple[str, str]] = {}
        ami.on_event("QueueCallerJoin", self._on_join)

    def _on_join(self, message: Any) -> None:
        caller = str(message.get("CallerIDNum", ""))
        self.by_caller.setdefault(caller, (str(message.get("Queue", "")), str(message.get("Channel", ""))))


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _drain(ami: AmiClient, timeout: float = 30.0) -> int:
    """Hang up what is left of a step's calls (stand-in agents, citizens) and wait until Asterisk has
    no channels; how many were left when it gave up."""
    with contextlib.suppress(Exception):
        await ami.action({"Action": "Hangup", "Channel": "/^(PJSIP|Local)\\//"}, timeout=10)
    deadline = time.perf_counter() + timeout
    rows: list[Any] = []
    while time.perf_counter() < deadline:
        answer = await ami.action({"Action": "CoreShowChannels"}, timeout=10)
        rows = answer.named("CoreShowChannel")
        if not rows:
            return 0
        await asyncio.sleep(0.5)
    return len(rows)


class SipBench:
    def __init__(self, plan: SipPlan, sandbox: Sandbox, daemon: DaemonUnderTest, work: Path, ami: AmiClient,
                 progress: Progress) -> None:
        self.plan = plan
        self.sandbox = sandbox
        self.daemon = daemon
        self.work = work
        self.ami = ami
        self.joins = Joins(ami)
        self.progress = progress
        sip_port = 5060 + 100 * sandbox.instance
        self.citizen_port = sip_port + 10  # CITIZEN_PORTS: the sandbox identifies them as the operator
        self.trunk = f"{HOST}:{sip_port + 22}"  # the trunk's own transport (sandbox pjsip_trunk.conf)
        # SIPp's RTP port: above Asterisk's RTP range (5000-31000 by default: no rtp.conf is shipped).
        self.media_port = 42000 + 10 * sandbox.instance
        self.pcaps = [work / f"walk-{walk.name}.pcap" for walk in WALKS]
        self.call_s = 0.0
        for walk, pcap in zip(WALKS, self.pcaps, strict=True):
            self.call_s = max(self.call_s, write_walk_pcap(walk.dtmf, pcap, first_wait_s=plan.first_wait_s,
                                                           audio=plan.audio, tail_s=plan.hold_s))
        template = string.Template(SCENARIO.read_text(encoding="utf-8"))
        self.scenario = work / "citizen_load.xml"
        self.scenario.write_text(template.substitute(
            pcap0=self.pcaps[0], pcap1=self.pcaps[1], pcap2=self.pcaps[2],
            answer_ms=int(plan.answer_s * 1000), wait_ms=int((self.call_s + plan.hold_s) * 1000)), encoding="utf-8")

    async def step(self, route_index: int, route: str, step_index: int, rate: float) -> dict[str, Any]:
        plan = self.plan
        calls = max(1, round(rate * plan.window_s))
        tag = f"{route_index}{step_index:02d}"
        callers = [f"07{tag}{n:05d}" for n in range(calls)]
        expected: dict[str, Walk] = {caller: WALKS[n % len(WALKS)] for n, caller in enumerate(callers)}
        inject = self.work / f"callers-{tag}.csv"
        inject.write_text("SEQUENTIAL\n" + "".join(f"{c};{n % len(WALKS)};\n" for n, c in enumerate(callers)),
                          encoding="ascii")
        stats, errors = self.work / f"stats-{tag}.csv", self.work / f"errors-{tag}.log"
        call_s = self.call_s + plan.hold_s
        timeout_s = int(plan.window_s + plan.answer_s + call_s + 20)
        limit = int(rate * (plan.answer_s + call_s)) + 10
        command = sipp_command(scenario=self.scenario, inject=inject, stats=stats, errors=errors,
                               number=ROUTES[route], rate=rate, calls=calls, limit=limit, timeout_s=timeout_s,
                               port=self.citizen_port, media_port=self.media_port, remote=self.trunk)
        pids = {"asterisk": self.sandbox.pid, "daemon": self.daemon.pid}
        before = {name: sample(pid).cpu_s for name, pid in pids.items()}
        sipp_before = _children_cpu_s()
        load_before = os.getloadavg()[0]
        began, wall_began = time.perf_counter(), time.time()
        proc = await asyncio.create_subprocess_exec(*command, cwd=self.work, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout_s + 15)
        except TimeoutError:
            proc.kill()
            _, stderr = await proc.communicate()
        sipp_s = time.perf_counter() - began
        after = {name: sample(pid).cpu_s for name, pid in pids.items()}
        sipp_cpu = _children_cpu_s() - sipp_before
        # A call that SIPp saw end may have joined its queue just before: AMI events can lag a little.
        deadline = time.perf_counter() + plan.settle_s
        while time.perf_counter() < deadline and any(c not in self.joins.by_caller for c in callers):
            await asyncio.sleep(0.2)
        result = SippStep(proc.returncode if proc.returncode is not None else -1, read_stats(stats),
                          error_kinds(errors), round(sipp_s, 1))
        if result.counter("OutgoingCall(C)") == 0:
            raise RuntimeError(f"SIPp placed no call (exit {result.returncode}): {' '.join(command)}\n"
                               f"{stderr.decode(errors='replace')[-2000:]}")
        outcomes = daemon_outcomes(Path(self.daemon.log_path), wall_began, time.time())
        missing = [c for c in callers if c not in self.joins.by_caller]
        wrong = [c for c in callers if c in self.joins.by_caller and self.joins.by_caller[c][0] != expected[c].queue]
        not_sip = [c for c in callers if c in self.joins.by_caller
                   and not self.joins.by_caller[c][1].startswith("PJSIP/operator-")]
        used = {**{name: after[name] - before[name] for name in pids}, "sipp": sipp_cpu}
        row: dict[str, Any] = {
            "route": route, "rate": rate, "calls": calls,
            "ok": calls - len(missing) - len(wrong) - len(not_sip),
            "not_queued": len(missing), "wrong_queue": len(wrong), "not_sip": len(not_sip),
            "wrong_queues": dict(Counter(self.joins.by_caller[c][0] for c in wrong)),
            "sipp_successful": result.counter("SuccessfulCall(C)"), "sipp_failed": result.counter("FailedCall(C)"),
            "sipp_returncode": result.returncode, "sipp_errors": result.errors, "daemon_menu_outcomes": outcomes,
            "sipp_stderr": stderr.decode(errors="replace").strip()[-500:],
            "seconds": result.seconds, "load_1min_before": round(load_before, 2),
            **{f"{name}_cpu_s": round(value, 3) for name, value in used.items()},
            **{f"{name}_ms_per_call": round(1000 * value / calls, 2) for name, value in used.items()},
            **{f"{name}_pct_of_core": round(100 * value / sipp_s, 1) for name, value in used.items()},
        }
        return row

    async def idle(self) -> dict[str, Any]:
        """CPU of Asterisk and the daemon with no calls at all, over `idle_s`."""
        pids = {"asterisk": self.sandbox.pid, "daemon": self.daemon.pid}
        before = {name: sample(pid).cpu_s for name, pid in pids.items()}
        began = time.perf_counter()
        await asyncio.sleep(self.plan.idle_s)
        seconds = time.perf_counter() - began
        return {f"{name}_pct_of_core": round(100 * (sample(pid).cpu_s - before[name]) / seconds, 1)
                for name, pid in pids.items()}

    async def run_route(self, route_index: int, route: str) -> list[dict[str, Any]]:
        rows = []
        for step_index, rate in enumerate(self.plan.rates):
            row = await self.step(route_index, route, step_index, rate)
            row["left_channels"] = await _drain(self.ami)
            rows.append(row)
            self.progress(
                f"  {route:<16} {rate:>5g} calls/s: {row['ok']}/{row['calls']} queued (SIPp failed "
                f"{row['sipp_failed']}), ms CPU per call: asterisk {row['asterisk_ms_per_call']}, daemon "
                f"{row['daemon_ms_per_call']}, SIPp {row['sipp_ms_per_call']}; load {row['load_1min_before']}")
            if row["ok"] != row["calls"] and self.plan.stop_at_first_failure:
                break
        return rows


def best(rows: list[dict[str, Any]], route: str) -> dict[str, Any] | None:
    """The highest rate with every call queued, for one route."""
    passing = [row for row in rows if row["route"] == route and row["ok"] == row["calls"]]
    return max(passing, key=lambda row: row["rate"]) if passing else None


async def _run(plan: SipPlan, config: Path, work: Path, progress: Progress) -> dict[str, Any]:
    if shutil.which(SIPP) is None:
        raise RuntimeError("sipp is not installed (Debian: apt-get install sip-tester)")
    work = work.resolve()
    prompts = work / "short-prompts"
    if prompts.exists():
        shutil.rmtree(prompts)
    write_short_prompts(load_config([config]), prompts, plan.prompt_s)
    sandbox = Sandbox(prepare_config(work), prompts)
    progress(f"  starting sandbox instance {sandbox.instance} (AMI {sandbox.ami_port}, FastAGI {sandbox.agi_port}, "
             f"trunk 127.0.0.1:{5082 + 100 * sandbox.instance})")
    sandbox.run("stop", timeout=120)
    sandbox.run("start")
    daemon = DaemonUnderTest(config, work / "state-sip", str(work / "daemon-sip.log"), port=sandbox.agi_port,
                             env={"IVR_AMI_PORT": str(sandbox.ami_port), "IVR_AMI_USER": IVR_USER,
                                  "IVR_AMI_SECRET": IVR_SECRET, "IVR_MAX_SESSIONS": "1000"})
    rows: list[dict[str, Any]] = []
    idle: dict[str, Any] | None = None
    bench: SipBench | None = None
    try:
        daemon.start()
        ami = AmiClient("127.0.0.1", sandbox.ami_port, TEST_USER, TEST_SECRET, events="call,agent")
        await ami.connect()
        try:
            bench = SipBench(plan, sandbox, daemon, work, ami, progress)
            if plan.idle_s:
                idle = {"route": "idle (no calls)", **await bench.idle()}
                progress(f"  idle: asterisk {idle['asterisk_pct_of_core']} %, daemon {idle['daemon_pct_of_core']} % "
                         "of a core")
            for route_index, route in enumerate(ROUTES):
                rows += await bench.run_route(route_index, route)
        finally:
            await ami.close()
    finally:
        daemon.stop()
        sandbox.run("stop", timeout=120)
    daemon_best, native_best = best(rows, "ivr run"), best(rows, "native dialplan")
    ratios = []
    if daemon_best and native_best:
        ratios.append({"what": "SIP: max calls/s with zero failures, ivr run / native dialplan",
                       "value": round(daemon_best["rate"] / native_best["rate"], 3)})
    # CPU per call compared at one rate: the highest at which both routes queued every call.
    both = [(d, n) for d in rows for n in rows if d["route"] == "ivr run" and n["route"] == "native dialplan"
            and d["rate"] == n["rate"] and d["ok"] == d["calls"] and n["ok"] == n["calls"]]
    if both:
        daemon_row, native_row = max(both, key=lambda pair: pair[0]["rate"])
        for name in ("asterisk", "daemon"):
            if native_row[f"{name}_ms_per_call"]:
                ratios.append({"what": f"SIP: {name} CPU per call, ivr run / native dialplan, "
                                       f"{daemon_row['rate']:g} calls/s",
                               "value": round(daemon_row[f"{name}_ms_per_call"] / native_row[f"{name}_ms_per_call"],
                                              3)})
    return {"instance": sandbox.instance, "rows": rows, "ratios": ratios, "idle": idle, "prompt_s": plan.prompt_s,
            "call_s": round(bench.call_s + plan.hold_s, 2) if bench else None, "audio": plan.audio,
            "best": {"ivr run": daemon_best, "native dialplan": native_best}}


def run(plan: SipPlan, config: Path, work: Path, progress: Progress = print) -> dict[str, Any]:
    return asyncio.run(_run(plan, config, work, progress))
