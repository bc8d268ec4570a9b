"""The soak run behind scripts/soak and tests/integration/test_faults_soak.py: sustained calls
through the real Asterisk and the real daemon (short prompts: the quick plan of harness/faults.py),
each checked against what should have happened to it, with the daemon's memory sampled throughout.

Memory criterion (docs/reliability.md): after the warm-up (the first `WARMUP_FRACTION` of the run,
at least the longest call's stay) and while calls are placed, the least-squares slope of the daemon's
RSS against the calls placed so far is at most `MAX_KIB_PER_CALL`. A leak of 10 KB a call fails it
(`leak_bytes_per_call`, ivr/injected_leak.py); the allowance proportional to the daemon's size used
before let a leak of 15-20 KB a call through a 10-minute run. A run with fewer than `MIN_CALLS_JUDGED`
calls after the warm-up is too short for the slope to mean anything against the allocator's steps:
its criterion says so, and it passes only if RSS grew by less than `SHORT_RUN_SLACK_KIB`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .ami import AmiClient, AmiMessage, EventRecorder, new_token
from .daemon import OPEN_HOURS, DaemonProcess
from .faults import QUICK_KEYS, private_broker, quick_config, rss_kib

LEAK_ENV = "IVR_TEST_LEAK_BYTES_PER_CALL"  # ivr/injected_leak.py

WARMUP_FRACTION = 0.2
# Measured without a leak: about 3 KiB a call over 700 calls (caches still filling); a 10 KB leak: 13.
MAX_KIB_PER_CALL = 6.0
MIN_CALLS_JUDGED = 100
SHORT_RUN_SLACK_KIB = 8192
SAMPLE_EVERY_S = 2.0
TALK = {"__AGENT_TALK": "1", "__AGENT_ANSWER_DELAY": "0"}


@dataclass(frozen=True)
class Kind:
    """One kind of caller: what they press, how long they stay, and what must happen to them."""

    name: str
    dtmf: str
    hold: float
    queue: str | None = None  # the queue they must reach (None: none)
    result: str | None = None  # IVR_RESULT the menu must set (None: the caller leaves first)


# Ten calls, repeated: most go to a queue or hear the goodbye, some hang up in the menu, one lets
# the menu time out (15 s in the menu, then kc-general).
MIX = [
    Kind("queue kc-general", QUICK_KEYS["kc-general"], 20, "kc-general", "queue"),
    Kind("goodbye", QUICK_KEYS["goodbye"], 4, None, "hangup"),
    Kind("queue kc-streets", QUICK_KEYS["kc-streets"], 20, "kc-streets", "queue"),
    Kind("hang up in the menu", "", 1, None, None),
    Kind("goodbye", QUICK_KEYS["goodbye"], 4, None, "hangup"),
    Kind("queue kc-school", QUICK_KEYS["kc-school"], 20, "kc-school", "queue"),
    Kind("no key", "", 25, "kc-general", "queue"),
    Kind("queue kc-general", QUICK_KEYS["kc-general"], 20, "kc-general", "queue"),
    Kind("hang up in the menu", "", 1, None, None),
    Kind("goodbye", QUICK_KEYS["goodbye"], 4, None, "hangup"),
]


@dataclass
class Watch:
    """What AMI told about one call."""

    kind: Kind
    uniqueid: str
    placed_at: float
    queues: list[str] = field(default_factory=list)
    result: str | None = None
    fallback: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def verdict(self) -> str:
        """"" when the call went as it should; else what went wrong."""
        if not self.ended.is_set():
            return "did not end in time"
        if self.fallback:
            return "took the dialplan's fallback"
        if self.result != self.kind.result:
            return f"IVR_RESULT {self.result!r}, expected {self.kind.result!r}"
        if self.kind.queue is None and self.queues:
            return f"queued in {self.queues} but should not have been"
        if self.kind.queue is not None and self.queues[:1] != [self.kind.queue]:
            return f"queued in {self.queues}, expected {self.kind.queue}"
        return ""


class CallTracker(EventRecorder):
    """An event recorder that keeps no events (a soak sees hundreds of thousands): it only updates
    the watch of the call each event belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.watches: dict[str, Watch] = {}

    def add(self, event: AmiMessage) -> None:
        watch = self.watches.get(event.Uniqueid or "")
        if watch is None:
            return
        if event.Event == "QueueCallerJoin" and event.Queue:
            watch.queues.append(event.Queue)
        elif event.Event == "VarSet" and event.Variable == "IVR_RESULT" and event.Value:
            watch.result = event.Value
        elif event.Event == "Newexten" and event.Context == "ivr-fallback":
            watch.fallback = True
        elif event.Event == "Hangup":
            watch.ended.set()


@dataclass
class SoakReport:
    seconds: float
    rate_per_s: float
    placed: int = 0
    completed: int = 0
    failed: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # the first few, with their uniqueid
    # (seconds since start, RSS in KiB, calls placed by then)
    rss_kib: list[tuple[float, int, int]] = field(default_factory=list)
    leak_bytes_per_call: int = 0  # the injected leak (ivr/injected_leak.py), 0 in a real soak
    warmup_s: float = 0.0
    fds_start: int = 0
    fds_end: int = 0
    log_errors: int = 0

    @property
    def rss_start(self) -> int:
        return self.rss_kib[0][1]

    @property
    def rss_warm(self) -> int:
        """RSS at the end of the warm-up (the first sample at or after it)."""
        return self._warm_samples[0][1]

    @property
    def rss_end(self) -> int:
        return self.rss_kib[-1][1]

    @property
    def _warm_samples(self) -> list[tuple[float, int, int]]:
        """Samples while calls were still being placed, after the warm-up (the drain at the end frees
        the calls in progress, which would bend the line); in a run shorter than its warm-up, those
        after the first call."""
        warm = [s for s in self.rss_kib if self.warmup_s <= s[0] <= self.seconds]
        return warm if len(warm) >= 2 else [s for s in self.rss_kib if s[2] > 0] or self.rss_kib[-1:]

    @property
    def calls_judged(self) -> int:
        """Calls placed after the warm-up: what the slope is measured over."""
        samples = self._warm_samples
        return samples[-1][2] - samples[0][2]

    @property
    def rss_slope_kib_per_call(self) -> float:
        """Least-squares slope of RSS against calls placed, after the warm-up."""
        return slope([(calls, kib) for _, kib, calls in self._warm_samples])

    @property
    def rss_slope_kib_per_min(self) -> float:
        return 60 * slope([(t, kib) for t, kib, _ in self._warm_samples])

    @property
    def long_enough(self) -> bool:
        return self.calls_judged >= MIN_CALLS_JUDGED

    @property
    def memory_ok(self) -> bool:
        if self.long_enough:
            return self.rss_slope_kib_per_call <= MAX_KIB_PER_CALL
        return self.rss_end - self.rss_warm <= SHORT_RUN_SLACK_KIB

    def memory_criterion(self) -> str:
        if self.long_enough:
            return (f"memory criterion (RSS slope after warm-up <= {MAX_KIB_PER_CALL:g} KiB a call, over "
                    f"{self.calls_judged} calls): {self.rss_slope_kib_per_call:+.2f} KiB a call: "
                    + ("met" if self.memory_ok else "NOT MET"))
        return (f"memory criterion: too short to judge the slope ({self.calls_judged} calls after warm-up, "
                f"{MIN_CALLS_JUDGED} needed); RSS growth after warm-up <= {SHORT_RUN_SLACK_KIB // 1024} MiB: "
                + ("met" if self.memory_ok else "NOT MET"))

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.placed > 0 and self.completed == self.placed and self.memory_ok

    def text(self) -> str:
        lines = [
            f"soak: {self.seconds:.0f} s at {self.rate_per_s:g} calls/s through the real Asterisk and daemon",
            f"calls placed {self.placed}, completed {self.completed}, failed {self.failed}",
            "  " + ", ".join(f"{kind}: {count}" for kind, count in sorted(self.by_kind.items())),
            *(f"  FAILED {failure}" for failure in self.failures),
            f"daemon RSS: start {self.rss_start / 1024:.1f} MiB, after warm-up ({self.warmup_s:.0f} s) "
            f"{self.rss_warm / 1024:.1f} MiB, end {self.rss_end / 1024:.1f} MiB "
            f"({100 * (self.rss_end - self.rss_warm) / self.rss_warm:+.1f} %; slope after warm-up "
            f"{self.rss_slope_kib_per_min:+.0f} KiB/min, {self.rss_slope_kib_per_call:+.2f} KiB a call)",
            *([f"INJECTED LEAK: {self.leak_bytes_per_call} bytes a call"] if self.leak_bytes_per_call else []),
            self.memory_criterion(),
            f"daemon file descriptors: {self.fds_start} at start, {self.fds_end} at the end; "
            f"error lines in its log: {self.log_errors}",
            "verdict: " + ("OK" if self.ok else "FAILED"),
        ]
        return "\n".join(lines)

    def as_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data.update(rss_start=self.rss_start, rss_warm=self.rss_warm, rss_end=self.rss_end,
                    rss_slope_kib_per_min=round(self.rss_slope_kib_per_min, 1),
                    rss_slope_kib_per_call=round(self.rss_slope_kib_per_call, 3), calls_judged=self.calls_judged,
                    memory_ok=self.memory_ok, ok=self.ok)
        return json.dumps(data, indent=2)


def slope(points: list[tuple[float, float]] | list[tuple[int, int]]) -> float:
    """Least-squares slope of y against x (0 for fewer than two distinct x)."""
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


async def run_soak(seconds: float, work_dir: Path, *, rate: float = 1.0, drain_s: float = 45.0,
                   mix: list[Kind] | None = None, leak_bytes_per_call: int = 0) -> SoakReport:
    """Place calls for `seconds` at `rate` a second (cycling through `mix`), let them finish, and report.
    `leak_bytes_per_call` makes the daemon leak on purpose (the criterion's proof)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    broker = private_broker(work_dir / "mqtt")
    broker.start()
    env = {"IVR_MQTT_HOST": "127.0.0.1", "IVR_MQTT_PORT": str(broker.port)}
    if leak_bytes_per_call:
        env[LEAK_ENV] = str(leak_bytes_per_call)
    daemon = DaemonProcess(test_clock=OPEN_HOURS,
                           state_dir=work_dir / "daemon", config_paths=quick_config(work_dir / "config"), env=env)
    # Warm-up: until the number of calls in progress is steady (the longest call's stay), at least.
    longest = max(kind.hold for kind in mix or MIX)
    report = SoakReport(seconds=seconds, rate_per_s=rate, warmup_s=max(5.0, longest + 5, seconds * WARMUP_FRACTION),
                        leak_bytes_per_call=leak_bytes_per_call)
    tracker = CallTracker()
    ami = await AmiClient.connect()
    ami.recorder = tracker
    try:
        await daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        report.fds_start = open_fds(pid)
        started = time.monotonic()
        sampler = asyncio.create_task(_sample(pid, started, report))
        kinds = itertools.cycle(mix or MIX)
        while (elapsed := time.monotonic() - started) < seconds:
            kind = next(kinds)
            token = new_token()
            watch = Watch(kind, f"sim-{token}-1", elapsed)
            tracker.watches[watch.uniqueid] = watch
            try:
                await ami.originate_caller(dtmf=kind.dtmf, hold=kind.hold, token=token, variables=TALK,
                                           caller_id=f"+4670{report.placed % 10_000_000:07d}")
            except Exception as exc:  # refused or lost: a failure of the run, not of the harness
                watch.ended.set()
                report.failures.append(f"{watch.uniqueid}: originate failed: {exc}")
            report.placed += 1
            await asyncio.sleep(max(0.0, started + report.placed / rate - time.monotonic()))
        deadline = time.monotonic() + drain_s
        for watch in list(tracker.watches.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.ended.wait(), max(0.1, deadline - time.monotonic()))
        await asyncio.sleep(SAMPLE_EVERY_S)  # one last sample with every call over
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        report.rss_kib.append((time.monotonic() - started, rss_kib(pid), report.placed))
        report.fds_end = open_fds(pid)
    finally:
        await ami.hangup_all_sim_calls()
        await ami.close()
        await daemon.stop()
        broker.stop()
    verdicts: Counter[str] = Counter()
    for watch in tracker.watches.values():
        problem = watch.verdict()
        verdicts[watch.kind.name] += 1
        if problem:
            report.failed += 1
            if len(report.failures) < 10:
                report.failures.append(f"{watch.uniqueid} ({watch.kind.name}, placed at {watch.placed_at:.0f} s): "
                                       f"{problem}")
        else:
            report.completed += 1
    report.by_kind = dict(verdicts)
    report.log_errors = sum(1 for line in daemon.log_lines() if line.get("level") in ("error", "critical"))
    return report


async def _sample(pid: int, started: float, report: SoakReport) -> None:
    while True:
        report.rss_kib.append((time.monotonic() - started, rss_kib(pid), report.placed))
        await asyncio.sleep(SAMPLE_EVERY_S)
