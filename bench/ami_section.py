"""Section 3: AMI events per second through the daemon's AMI layer, against a raw parse floor.

The events are a mix recorded from a real Asterisk 22 while section 2's calls ran (bench/data/), replayed
by a fake AMI (ivr.testing.ami_replay) to one consumer process per row. Only the events that Asterisk
sends the daemon's user are replayed: those of ivr/ami_events.py (manager.conf's eventfilter lines); a
recording made before the filter holds every event of a call, and the others never reach the daemon.
"""

from __future__ import annotations

import asyncio
import collections
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import PYTHON, REPO
from bench.stats import ratio
from ivr.ami_events import DAEMON_EVENTS
from ivr.testing.ami_replay import AmiReplayServer, split_frames

RECORDING = REPO / "bench" / "data" / "ami_events.txt"
MODES = ("floor", "framer", "daemon")


@dataclass(frozen=True)
class AmiPlan:
    # About 230 replays of the filtered recording: its calls cut at the ends leave callers "waiting" in the
    # bridge's queue view, which grows with every replay (more replays measure that artefact, not ingestion).
    events: int = 40_000
    recording: Path = RECORDING


def _name(frame: bytes) -> str:
    return frame.split(b"\r\n", 1)[0].split(b":", 1)[1].strip().decode()


def mix(frames: list[bytes]) -> list[tuple[str, int]]:
    """Event names in the recording, most frequent first."""
    return collections.Counter(_name(frame) for frame in frames).most_common()


def sent_to_the_daemon(frames: list[bytes]) -> list[bytes]:
    """The events Asterisk lets through to the daemon's user (manager.conf's eventfilter)."""
    return [frame for frame in frames if _name(frame) in DAEMON_EVENTS]


async def _consume(mode: str, frames: list[bytes], repeat: int) -> dict[str, Any]:
    fake = AmiReplayServer(frames, repeat=repeat)
    await fake.start()
    try:
        process = await asyncio.create_subprocess_exec(PYTHON, "-m", "bench.ami_ingest", mode, str(fake.port),
                                                       cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 300)
        if process.returncode != 0:
            raise RuntimeError(f"ami_ingest {mode} failed:\n{err.decode()[-2000:]}")
        result: dict[str, Any] = json.loads(out)
    finally:
        await fake.stop()
    return {"mode": mode, **result, "cpu_us_per_event": round(result["cpu_s"] / max(result["events"], 1) * 1e6, 2)}


def run(plan: AmiPlan, progress: Any = print) -> dict[str, Any]:
    recorded = split_frames(plan.recording.read_bytes())
    frames = sent_to_the_daemon(recorded)
    if not frames:
        raise RuntimeError(f"no AMI events the daemon receives in {plan.recording}")
    repeat = max(1, plan.events // len(frames))
    rows = []
    for mode in MODES:
        row = asyncio.run(_consume(mode, frames, repeat))
        rows.append(row)
        progress(f"  {mode:<8} {row['events_per_s']:>10} events/s  {row['cpu_us_per_event']} µs CPU/event")
    by_mode = {row["mode"]: row for row in rows}
    return {"recorded_events": len(recorded), "replayed_events": len(frames), "mix": mix(frames)[:12], "rows": rows,
            "ratios": [{"what": "AMI events/s, daemon / raw parse floor",
                        "value": ratio(by_mode["daemon"]["events_per_s"], by_mode["floor"]["events_per_s"])},
                       {"what": "AMI events/s, daemon / Framer alone",
                        "value": ratio(by_mode["daemon"]["events_per_s"], by_mode["framer"]["events_per_s"])}]}
