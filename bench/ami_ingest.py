"""One AMI consumer, in a process of its own, reading a fake AMI's replay as fast as it can.

    python -m bench.ami_ingest MODE PORT   → prints {"events", "seconds", "cpu_s", "events_per_s"}

Modes, from the least work to the daemon's:
- `floor`: split the byte stream into frames and each frame into a dict (the least a consumer must do);
- `framer`: the daemon's `Framer` (incremental UTF-8 decoding, limits, repeated headers);
- `daemon`: the daemon's `AmiClient` (Framer, panoramisk Message, EventDispatcher) with the
  `AmiBridge` subscribed as in `ivr run` (queue view, caller hashes, product events to a counting sink).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from ivr.ami.client import AmiClient
from ivr.ami.message import Framer
from ivr.live.ami_bridge import AmiBridge
from ivr.logs import configure_logging
from ivr.privacy import NumberHasher
from ivr.testing.ami_replay import END_EVENT

_LOGIN = b"Action: Login\r\nUsername: bench\r\nSecret: bench\r\n\r\nAction: BenchStart\r\n\r\n"


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    def emit(self, event: str, call: Any = None, **data: Any) -> None:
        self.count += 1


def _end_count(fields: dict[str, Any]) -> int | None:
    if fields.get("Event") == "UserEvent" and fields.get("UserEvent") == END_EVENT:
        return int(fields.get("Count", 0))
    return None


async def _raw(port: int, mode: str) -> tuple[int, float, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    await reader.readline()  # banner
    writer.write(_LOGIN)
    framer = Framer()
    buffer = b""
    began, cpu = time.perf_counter(), time.process_time()
    while True:
        data = await reader.read(1 << 18)
        if not data:
            raise RuntimeError("fake AMI closed before the end of the replay")
        if mode == "framer":
            for frame in framer.feed(data):
                if (count := _end_count(frame.headers)) is not None:
                    return count, time.perf_counter() - began, time.process_time() - cpu
            continue
        *frames, buffer = (buffer + data).split(b"\r\n\r\n")
        for raw in frames:
            fields = {}
            for line in raw.decode("utf-8", "replace").split("\r\n"):
                key, _, value = line.partition(": ")
                fields[key] = value
            if (count := _end_count(fields)) is not None:
                return count, time.perf_counter() - began, time.process_time() - cpu


async def _daemon(port: int) -> tuple[int, float, float]:
    configure_logging("info", stream=open(os.devnull, "w"))  # noqa: SIM115 - for the process's life
    sink = CountingSink()
    ami = AmiClient("127.0.0.1", port, "bench", "bench")
    bridge = AmiBridge(sink, hasher=NumberHasher(b"bench-hash-key-0123456789abcdef"), snapshot_every=0)
    bridge.attach(ami)
    finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_user_event(message: Any) -> None:
        count = _end_count({"Event": "UserEvent", "UserEvent": message.get("UserEvent"),
                            "Count": message.get("Count")})
        if count is not None and not finished.done():
            finished.set_result(count)

    ami.on_event("UserEvent", on_user_event)
    await ami.connect()
    try:
        began, cpu = time.perf_counter(), time.process_time()
        await ami.action({"Action": "BenchStart"}, timeout=600)
        count = await finished
        return count, time.perf_counter() - began, time.process_time() - cpu
    finally:
        await ami.close()


def main(argv: list[str]) -> int:
    mode, port = argv[1], int(argv[2])
    count, seconds, cpu = asyncio.run(_daemon(port) if mode == "daemon" else _raw(port, mode))
    json.dump({"events": count, "seconds": round(seconds, 4), "cpu_s": round(cpu, 4),
               "events_per_s": round(count / seconds) if seconds else None}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
