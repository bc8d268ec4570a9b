"""The load generator: many callers at once, acting as Asterisk does over FastAGI (or over an AGI
script's pipes), in a process of its own so that its work is not counted as the server's.

    python -m bench.loadgen SPEC.json   → prints a JSON result on stdout

The spec names the target (`tcp` host/port, or several ports taken in turn, or `spawn`: a command run
once per call, spoken to over its stdin/stdout as Asterisk speaks to a classic AGI script), the
concurrency, how many calls or for how long, and the pacing: `null` answers every command at once
(throughput), otherwise STREAM FILE answers after `play_s` and WAIT FOR DIGIT after `key_s`, each ±50 %
at random, as a caller listening to prompts would (latency with N calls held at once).

Latency is measured here, on the caller's side: "think time" runs from writing a reply (or the
header block) to reading the next command, i.e. the server's time to decide plus both socket hops.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import raise_open_files_limit, summary_ms
from bench.walks import walk_headers
from ivr.testing.fake_asterisk import FakeChannel, agi_headers

_MAX_EXAMPLES = 5


@dataclass
class Spec:
    target: str = "tcp"  # "tcp" or "spawn"
    host: str = "127.0.0.1"
    port: int = 4573
    ports: list[int] = field(default_factory=list)  # several servers: the calls go to each in turn
    command: list[str] = field(default_factory=list)  # spawn: argv of the per-call AGI script
    concurrency: int = 10
    calls: int = 100  # total calls when `duration_s` is 0
    duration_s: float = 0.0  # > 0: start calls until then (pacing runs)
    ramp_s: float = 0.0  # worker i starts after i/N of this
    pace: dict[str, float] | None = None  # {"play_s": ..., "key_s": ...}
    walks: list[dict[str, Any]] = field(default_factory=list)  # {"name", "keys", "queue"}
    dnid: str = "4034100"
    call_timeout_s: float = 120.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spec:
        return cls(**data)


@dataclass
class Totals:
    think: list[float] = field(default_factory=list)
    first_prompt: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)
    ok: int = 0
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    first_start: float = 0.0
    last_end: float = 0.0

    def fail(self, reason: str, detail: str) -> None:
        self.failed += 1
        self.failures[reason] = self.failures.get(reason, 0) + 1
        if len(self.examples) < _MAX_EXAMPLES:
            self.examples.append(f"{reason}: {detail}"[:300])


class CallState:
    """One caller: answers each command line, records think times, knows when the call ended."""

    __slots__ = ("buffer", "channel", "delay", "done", "first_play_seen", "headers_at", "sent_at", "totals",
                 "write")

    def __init__(self, totals: Totals, keys: list[str], delay: Callable[[str], float],
                 done: asyncio.Future[None]) -> None:
        self.totals = totals
        self.channel = FakeChannel(keys)
        self.delay = delay
        self.done = done
        self.buffer = b""
        self.write: Callable[[bytes], None] = _unset_writer
        self.sent_at = self.headers_at = 0.0
        self.first_play_seen = False

    def start(self, write: Callable[[bytes], None], headers: bytes) -> None:
        self.write = write
        write(headers)
        self.sent_at = self.headers_at = time.perf_counter()

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\n")) >= 0:
            line, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
            self._on_command(line.decode("utf-8", "replace"))

    def _on_command(self, line: str) -> None:
        now = time.perf_counter()
        self.totals.think.append(now - self.sent_at)
        if not self.first_play_seen and line.startswith("STREAM FILE"):
            self.first_play_seen = True
            self.totals.first_prompt.append(now - self.headers_at)
        reply = self.channel.answer(line)
        wait = self.delay(reply.wait)
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self._send, reply.text)
        else:
            self._send(reply.text)

    def _send(self, text: str) -> None:
        if self.done.done():
            return  # the server closed while we were "playing"
        self.write(text.encode() + b"\n")
        self.sent_at = time.perf_counter()

    def finish(self, error: BaseException | None = None) -> None:
        if not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)


def _unset_writer(_: bytes) -> None:
    raise RuntimeError("call not started")


class TcpCaller(asyncio.Protocol):
    def __init__(self, state: CallState, headers: bytes) -> None:
        self.state = state
        self.headers = headers

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.state.start(transport.write, self.headers)

    def data_received(self, data: bytes) -> None:
        self.state.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.finish(exc)


class PipeCaller(asyncio.SubprocessProtocol):
    """Asterisk's side of a classic AGI script: headers and replies on its stdin, commands on its stdout."""

    def __init__(self, state: CallState, headers: bytes) -> None:
        self.state = state
        self.headers = headers
        self.exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        self.state.start(stdin.write, self.headers)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self.state.feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self.state.finish(exc)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


class LoadGenerator:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.totals = Totals()
        self._ids = itertools.count(1)
        self._walks = itertools.cycle(spec.walks)
        self._random = random.Random(1234)
        self._deadline = 0.0

    def _delay(self, wait: str) -> float:
        pace = self.spec.pace
        if not pace or not wait:
            return 0.0
        base = pace["play_s"] if wait == "play" else pace["key_s"]
        return base * self._random.uniform(0.5, 1.5)

    def _take(self, started: list[int]) -> bool:
        if self.spec.duration_s > 0:
            return time.perf_counter() < self._deadline
        if started[0] >= self.spec.calls:
            return False
        started[0] += 1
        return True

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        started = [0]
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.totals.first_start = time.perf_counter()
        self._deadline = self.totals.first_start + self.spec.duration_s

        async def worker(index: int) -> None:
            if self.spec.ramp_s:
                await asyncio.sleep(self.spec.ramp_s * index / self.spec.concurrency)
            while self._take(started):
                await self._one_call(loop)

        await asyncio.gather(*(worker(i) for i in range(self.spec.concurrency)))
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        totals = self.totals
        wall = max(totals.last_end - totals.first_start, 1e-9)
        return {
            "calls_ok": totals.ok,
            "calls_failed": totals.failed,
            "failures": totals.failures,
            "failure_examples": totals.examples,
            "commands": len(totals.think),
            "wall_s": round(wall, 3),
            "calls_per_s": round(totals.ok / wall, 1),
            "think_ms": summary_ms(totals.think),
            "first_prompt_ms": summary_ms(totals.first_prompt),
            "e2e_ms": summary_ms(totals.e2e),
            "peak_in_flight": totals.peak_in_flight,
            "loadgen_cpu_s": round(_cpu(cpu_after) - _cpu(cpu_before), 3),
            "children_cpu_s": round(_cpu(children_after) - _cpu(children_before), 3),
            "children_maxrss_kb": children_after.ru_maxrss,
        }

    async def _one_call(self, loop: asyncio.AbstractEventLoop) -> None:
        spec, totals = self.spec, self.totals
        walk = next(self._walks)
        number = next(self._ids)
        uniqueid = f"bench-{number}"
        port = spec.ports[number % len(spec.ports)] if spec.ports else spec.port
        # A different (made-up) caller each call: a repeat caller takes another path (priority boost).
        headers = agi_headers("inbound", uniqueid=uniqueid, caller=f"+4670{number % 10_000_000:07d}", dnid=spec.dnid,
                              port=port, extra=walk_headers(walk["name"]))
        done: asyncio.Future[None] = loop.create_future()
        state = CallState(totals, list(walk["keys"]), self._delay, done)
        totals.in_flight += 1
        totals.peak_in_flight = max(totals.peak_in_flight, totals.in_flight)
        began = time.perf_counter()
        transport: asyncio.BaseTransport | None = None
        pipe: PipeCaller | None = None
        try:
            async with asyncio.timeout(spec.call_timeout_s):
                if spec.target == "spawn":
                    transport, pipe = await loop.subprocess_exec(
                        lambda: PipeCaller(state, headers), *spec.command,
                        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.DEVNULL)
                    await done
                    await pipe.exited
                else:
                    transport, _ = await loop.create_connection(lambda: TcpCaller(state, headers), spec.host, port)
                    await done
        except TimeoutError:
            totals.fail("timeout", f"{uniqueid} after {spec.call_timeout_s:g} s")
        except OSError as exc:
            totals.fail("connection", f"{uniqueid}: {exc}")
        else:
            self._judge(state, walk, uniqueid, transport)
        finally:
            if transport is not None:
                transport.close()
            totals.in_flight -= 1
            end = time.perf_counter()
            totals.last_end = max(totals.last_end, end)
        totals.e2e.append(end - began)

    def _judge(self, state: CallState, walk: dict[str, Any], uniqueid: str,
               transport: asyncio.BaseTransport | None) -> None:
        variables = state.channel.set_by_route
        if isinstance(transport, asyncio.SubprocessTransport) and transport.get_returncode():
            self.totals.fail("exit status", f"{uniqueid}: script exited with {transport.get_returncode()}")
        elif variables.get("IVR_RESULT") != "queue" or variables.get("IVR_QUEUE") != walk["queue"]:
            self.totals.fail("wrong outcome", f"{uniqueid} ({walk['name']}): IVR_RESULT="
                             f"{variables.get('IVR_RESULT')!r} IVR_QUEUE={variables.get('IVR_QUEUE')!r}")
        else:
            self.totals.ok += 1


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    spec = Spec.from_dict(json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    raise_open_files_limit()
    result = asyncio.run(LoadGenerator(spec).run())
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
