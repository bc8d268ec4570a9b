"""Section 2: calls per second on the real Asterisk 22, the daemon against the same menu as native dialplan.

The benchmark runs its own sandbox instance (IVR_SANDBOX_INSTANCE, as every sandbox command) on a copy of
asterisk-config/ with bench/asterisk/ added (the native menu) and with 0.2 s prompts (bench/prompts.py),
so that the engine and not minutes of speech decides how many calls fit. Calls are Local channels
originated over AMI into [caller-sim], which presses the walk's keys (bench/walks.py); a call passes when
its near half joins the walk's queue. Each step originates `rate` calls a second for `window_s`; rates
rise until a step has a failure or the machine is saturated (the ceiling), for the daemon ([main-number] →
FastAGI) and for the native menu. A third route runs the daemon's menu with the daemon logged in as a user
without the AMI event filter (every event, as before issue #13), at the rates up to `unfiltered_up_to`,
to show what the filter saves in daemon CPU per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import REPO, DaemonUnderTest
from bench.prompts import write_short_prompts
from bench.stats import cpu_by_pid, used_between
from bench.walks import MAIN_DNID, WALKS
from ivr.ami.client import AmiClient
from ivr.ami.reply import header
from ivr.validate import load_config

SCRIPT = REPO / "scripts" / "asterisk-sandbox"
OVERLAY = REPO / "bench" / "asterisk"
TEST_USER, TEST_SECRET = "ivrtest", "ivrtest-dev-secret"  # asterisk-config/sandbox/manager.d/ivrtest.conf
IVR_USER, IVR_SECRET = "ivr", "ivr-dev-secret"  # the daemon's own user and the sandbox's development secret
# The "before" of the AMI event filter: a bench-only user like [ivr] without its eventfilter lines, and the
# daemon's login asking for every class again (Events: on).
UNFILTERED = "ivr run (AMI unfiltered)"
UNFILTERED_USER = "ivr-unfiltered"
UNFILTERED_PRELUDE = "import ivr.daemon\nivr.daemon.LOGIN_EVENT_CLASSES = 'on'"
# The machine counts as saturated when less than this share of its CPU time was idle during a step.
SATURATED_IDLE = 0.05
ROUTES = {"ivr run": "main-number", "native dialplan": "bench-native-entry",
          UNFILTERED: "main-number"}


@dataclass(frozen=True)
class AsteriskPlan:
    # Rates rise until a step fails or the machine is saturated: the ceiling.
    rates: tuple[float, ...] = (10, 20, 40, 80, 120, 160, 240, 320)
    unfiltered_up_to: float = 40  # the AMI-unfiltered route's steps (0: none)
    window_s: float = 6.0
    settle_s: float = 25.0  # after the last originate, how long a call may take to reach its queue
    record_rate: float = 10  # the daemon step during which the AMI event mix is recorded
    record_to: Path | None = None  # also copy the recording here (bench/data/ when refreshing it)


class Sandbox:
    def __init__(self, config_dir: Path, prompts_dir: Path) -> None:
        self.instance = int(os.environ.get("IVR_SANDBOX_INSTANCE", "0") or 0)
        self.env = dict(os.environ, IVR_SANDBOX_INSTANCE=str(self.instance), IVR_ASTERISK_CONFIG=str(config_dir),
                        IVR_PROMPTS_DIR=str(prompts_dir))
        self.ami_port = 5038 + 100 * self.instance
        self.agi_port = 4573 + 100 * self.instance
        run_dir = Path(os.environ.get("IVR_SANDBOX_RUN", "/var/run/ivr-sandbox")) / str(self.instance)
        self.pid_file = run_dir / "asterisk.pid"

    def run(self, *args: str, timeout: float = 900) -> str:
        done = subprocess.run([str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"asterisk-sandbox {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    @property
    def pid(self) -> int:
        return int(self.pid_file.read_text().strip())


def prepare_config(work: Path) -> Path:
    """asterisk-config/ plus the benchmark's native menu, in a scratch folder."""
    config = work / "asterisk-config"
    if config.exists():
        shutil.rmtree(config)
    shutil.copytree(REPO / "asterisk-config", config)
    for extra in sorted(OVERLAY.glob("*.conf")):
        shutil.copy(extra, config / extra.name)
        with (config / "extensions.conf").open("a", encoding="utf-8") as extensions:
            extensions.write(f"\n; added by bench/asterisk_section.py\n#include \"{extra.name}\"\n")
    manager = (config / "manager.conf").read_text(encoding="utf-8")
    section = manager.split("\n[ivr]\n", 1)[1].split("\n[", 1)[0]
    unfiltered = "\n".join(line for line in section.splitlines()
                           if not line.startswith(("eventfilter", "#include")))
    (config / "sandbox" / "manager.d").mkdir(parents=True, exist_ok=True)
    (config / "sandbox" / "manager.d" / "bench_unfiltered.conf").write_text(
        f"; bench/asterisk_section.py: the daemon's user without its event filter (the before of issue #13)\n"
        f"[{UNFILTERED_USER}]\nsecret = {IVR_SECRET}\n{unfiltered}\n", encoding="utf-8")
    return config


def cpu_idle() -> tuple[float, float]:
    """(idle, total) CPU time of the whole machine so far, from /proc/stat (in ticks)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [float(v) for v in stat.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


class Recorder:
    """A raw AMI connection as the daemon's user, keeping every byte: the real mix the daemon receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.data = bytearray()
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writer.write(f"Action: Login\r\nUsername: {IVR_USER}\r\nSecret: {IVR_SECRET}\r\nEvents: on\r\n\r\n"
                           .encode())
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(1 << 16):
            self.data += chunk

    async def stop(self) -> bytes:
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._task
        return bytes(self.data)


class LoadDriver:
    """Originates simulated callers over AMI and watches QueueCallerJoin to judge each call."""

    def __init__(self, ami: AmiClient) -> None:
        self.ami = ami
        self.joined: dict[str, str] = {}
        ami.on_event("QueueCallerJoin", self._on_join)

    def _on_join(self, message: Any) -> None:
        self.joined[str(message.get("Uniqueid", ""))] = str(message.get("Queue", ""))

    async def originate(self, context: str, walk_index: int, token: str) -> None:
        walk = WALKS[walk_index % len(WALKS)]
        variables = [f"SIM_DTMF={walk.dtmf}", "SIM_FIRST_WAIT=0.5", "SIM_HOLD=3", f"SIM_TOKEN={token}"]
        answer = await self.ami.action({
            "Action": "Originate", "Channel": "Local/s@caller-sim/n", "Context": context, "Exten": MAIN_DNID,
            "Priority": "1", "CallerID": '"Bench Caller" <+46700000002>', "Async": "true", "Timeout": "10000",
            "ChannelId": f"bench-{token}-1", "OtherChannelId": f"bench-{token}-2", "Variable": variables}, timeout=10)
        # The answer is the response and, once the caller side is up, the OriginateResponse event.
        final = answer.messages[-1]
        if header(final, "Response").lower() != "success":
            raise RuntimeError(f"Originate failed: {header(final, 'Message') or header(final, 'Reason')}")

    async def step(self, context: str, rate: float, window_s: float, settle_s: float) -> dict[str, Any]:
        """Originate `rate` calls a second for `window_s` (each Originate in its own task, so a slow answer
        does not lower the rate), then wait up to `settle_s` for every call to join its queue."""
        expected: dict[str, str] = {}
        began = time.perf_counter()
        total = max(1, round(rate * window_s))
        tasks = []
        for index in range(total):
            await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
            token = uuid.uuid4().hex[:10]
            expected[f"bench-{token}-1"] = WALKS[index % len(WALKS)].queue
            tasks.append(asyncio.create_task(self.originate(context, index, token)))
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        refused = {near for near, outcome in zip(expected, outcomes, strict=True)
                   if isinstance(outcome, BaseException)}
        deadline = time.perf_counter() + settle_s
        while time.perf_counter() < deadline and any(uid not in self.joined for uid in expected if uid not in refused):
            await asyncio.sleep(0.2)
        missing = [uid for uid in expected if uid not in self.joined and uid not in refused]
        wrong = [uid for uid, queue in expected.items() if uid in self.joined and self.joined[uid] != queue]
        return {"calls": total, "ok": total - len(refused) - len(missing) - len(wrong),
                "originate_errors": len(refused), "not_queued": len(missing), "wrong_queue": len(wrong),
                "seconds": round(time.perf_counter() - began, 2)}

    async def drain(self, timeout: float = 20.0) -> None:
        """Hang up what is left of the step's calls and wait until Asterisk has no channels."""
        with contextlib.suppress(Exception):
            await self.ami.action({"Action": "Hangup", "Channel": "/@(caller-sim|agent-sim)-/"}, timeout=10)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            answer = await self.ami.action({"Action": "CoreShowChannels"}, timeout=10)
            if not answer.named("CoreShowChannel"):
                return
            await asyncio.sleep(0.5)


def _share(used: dict[str, float], seconds: float) -> dict[str, float]:
    total = sum(used.values()) or 1e-9
    found = {f"{name}_cpu_pct_of_core": round(100 * value / seconds, 1) for name, value in used.items()}
    found["daemon_share_pct"] = round(100 * used.get("daemon", 0.0) / total, 1)
    return found


async def _run_route(route: str, plan: AsteriskPlan, sandbox: Sandbox, daemon: DaemonUnderTest, driver: LoadDriver,
                     progress: Any, recordings: list[bytes]) -> list[dict[str, Any]]:
    rates = [r for r in plan.rates if r <= plan.unfiltered_up_to] if route == UNFILTERED else plan.rates
    recorder = Recorder(sandbox.ami_port) if route == "ivr run" else None
    return await climb(route, ROUTES[route], rates, plan, sandbox, {"daemon": lambda: [daemon.pid]}, driver,
                       progress,
                       recording=(plan.record_rate, recorder, recordings) if recorder else None,
                       stop_when_saturated=route != UNFILTERED)  # that route runs its rates for the comparison


async def climb(route: str, context: str, rates: Sequence[float], plan: AsteriskPlan, sandbox: Sandbox,
                measured: dict[str, Callable[[], list[int]]], driver: LoadDriver, progress: Any, *,
                recording: tuple[float, Recorder, list[bytes]] | None = None,
                stop_when_saturated: bool = True) -> list[dict[str, Any]]:
    """One route's steps at rising rates into `context`, until a step fails or the machine is saturated.
    Over each step the CPU of Asterisk and of each named group of processes in `measured` (summed within a
    group: "daemon" is every daemon sharing the calls; each group listed again at every step and at its end,
    so that a process started meanwhile counts). `recording`: (rate, recorder, recordings) keeps the
    AMI events of that step."""
    rows = []
    groups = {"asterisk": lambda: [sandbox.pid], **measured}
    for rate in rates:
        recorder = recording[1] if recording is not None and rate == recording[0] else None
        if recorder is not None:
            await recorder.start()
        before = {name: cpu_by_pid(group()) for name, group in groups.items()}
        idle_before = cpu_idle()
        started = time.perf_counter()
        result = await driver.step(context, rate, plan.window_s, plan.settle_s)
        after = {name: cpu_by_pid(group()) for name, group in groups.items()}
        idle_after = cpu_idle()
        if recorder is not None and recording is not None:
            recording[2].append(await recorder.stop())
        idle_share = (idle_after[0] - idle_before[0]) / max(idle_after[1] - idle_before[1], 1e-9)
        used = {name: used_between(before[name], after[name]) for name in groups}
        row = {"route": route, "rate": rate, **result, **_share(used, time.perf_counter() - started),
               **{f"{name}_ms_per_call": round(value / max(result["calls"], 1) * 1000, 2)
                  for name, value in used.items()},
               "machine_busy_pct": round(100 * (1 - idle_share), 1)}
        rows.append(row)
        progress(f"  {route:<26} {rate:>5} calls/s offered: {row['ok']}/{row['calls']} queued, "
                 f"daemon {row['daemon_ms_per_call']} ms CPU/call, asterisk {row['asterisk_ms_per_call']} ms; "
                 f"machine {row['machine_busy_pct']} % busy")
        await driver.drain()
        if row["ok"] != row["calls"]:
            row["stopped"] = "failed"
            break
        if idle_share < SATURATED_IDLE and stop_when_saturated:
            row["stopped"] = "machine saturated"
            break
    return rows


def ceiling(rows: list[dict[str, Any]], route: str) -> dict[str, Any]:
    """The highest rate with every call queued, and why the rates stopped rising there."""
    mine = [row for row in rows if row["route"] == route]
    top = best(rows, route)
    last = mine[-1] if mine else None
    why = last.get("stopped", "highest rate offered") if last else "not run"
    if why == "failed" and last is not None:
        why = f"failed at {last['rate']:g} calls/s"
    elif why == "machine saturated" and last is not None:
        why = f"machine saturated at {last['rate']:g} calls/s ({last['machine_busy_pct']} % busy)"
    return {"rate": top["rate"] if top else None, "why": why}


def best(rows: list[dict[str, Any]], route: str) -> dict[str, Any] | None:
    """The highest rate with every call queued, for one route."""
    passing = [row for row in rows if row["route"] == route and row["ok"] == row["calls"]]
    return max(passing, key=lambda row: row["rate"]) if passing else None


async def _run(plan: AsteriskPlan, config: Path, work: Path, progress: Any) -> dict[str, Any]:
    prompts = work / "short-prompts"
    if prompts.exists():
        shutil.rmtree(prompts)
    write_short_prompts(load_config([config]), prompts)
    sandbox = Sandbox(prepare_config(work), prompts)
    progress(f"  starting sandbox instance {sandbox.instance} (AMI {sandbox.ami_port}, FastAGI {sandbox.agi_port})")
    sandbox.run("stop", timeout=120)
    sandbox.run("start")
    def make_daemon(route: str) -> DaemonUnderTest:
        user, prelude = (UNFILTERED_USER, UNFILTERED_PRELUDE) if route == UNFILTERED else (IVR_USER, "")
        name = "asterisk-unfiltered" if route == UNFILTERED else "asterisk"
        return DaemonUnderTest(config, work / f"state-{name}", str(work / f"daemon-{name}.log"), port=sandbox.agi_port,
                               env={"IVR_AMI_PORT": str(sandbox.ami_port), "IVR_AMI_USER": user,
                                    "IVR_AMI_SECRET": IVR_SECRET, "IVR_MAX_SESSIONS": "1000"}, prelude=prelude)

    recordings: list[bytes] = []
    rows: list[dict[str, Any]] = []
    try:
        ami = AmiClient("127.0.0.1", sandbox.ami_port, TEST_USER, TEST_SECRET, events="call,agent")
        await ami.connect()
        try:
            driver = LoadDriver(ami)
            for route in ROUTES:
                if route == UNFILTERED and not plan.unfiltered_up_to:
                    continue
                daemon = make_daemon(route)  # each route its own daemon: its CPU is that route's
                daemon.start()
                try:
                    await asyncio.sleep(2.0)  # logged in to AMI, its queue view synchronised
                    # One call per walk first, not counted: a fresh daemon's first calls do one-off work
                    # (the holiday calendar, the records database) that is no call's cost.
                    await driver.step(ROUTES[route], 3.0, 1.0, plan.settle_s)
                    await driver.drain()
                    rows += await _run_route(route, plan, sandbox, daemon, driver, progress, recordings)
                finally:
                    daemon.stop()
        finally:
            await ami.close()
    finally:
        sandbox.run("stop", timeout=120)
    if recordings:
        (work / "ami_events.txt").write_bytes(recordings[0])
        if plan.record_to is not None:
            plan.record_to.write_bytes(recordings[0])
    daemon_best, native_best = best(rows, "ivr run"), best(rows, "native dialplan")
    ratios = []
    if daemon_best and native_best:
        ratios.append({"what": "max calls/s with zero failures, ivr run / native dialplan",
                       "value": round(daemon_best["rate"] / native_best["rate"], 3)})
    filtered = {row["rate"]: row for row in rows if row["route"] == "ivr run"}
    for row in rows:
        if row["route"] == UNFILTERED and row["rate"] in filtered and row["daemon_ms_per_call"]:
            ratios.append({"what": f"daemon CPU per call, AMI filtered / unfiltered, {row['rate']:g} calls/s",
                           "value": round(filtered[row["rate"]]["daemon_ms_per_call"] / row["daemon_ms_per_call"], 3)})
    return {"instance": sandbox.instance, "rows": rows, "ratios": ratios,
            "best": {"ivr run": daemon_best, "native dialplan": native_best},
            "ceiling": {route: ceiling(rows, route) for route in ("ivr run", "native dialplan")}}


def run(plan: AsteriskPlan, config: Path, work: Path, progress: Any = print) -> dict[str, Any]:
    return asyncio.run(_run(plan, config, work, progress))
