"""Section 3: AMI events per second through the daemon's AMI layer, against a raw parse floor.

The events are a mix recorded from a real Asterisk 22 while section 2's calls ran (bench/data/), replayed
by a fake AMI (ivr.testing.ami_replay) to one consumer process per row.
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
from ivr.testing.ami_replay import AmiReplayServer, split_frames

RECORDING = REPO / "bench" / "data" / "ami_events.txt"
MODES = ("floor", "framer", "daemon")


@dataclass(frozen=True)
class AmiPlan:
    events: int = 200_000
    recording: Path = RECORDING


def mix(frames: list[bytes]) -> list[tuple[str, int]]:
    """Event names in the recording, most frequent first."""
    names = collections.Counter(frame.split(b"\r\n", 1)[0].split(b":", 1)[1].strip().decode() for frame in frames)
    return names.most_common()


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
    frames = split_frames(plan.recording.read_bytes())
    if not frames:
        raise RuntimeError(f"no AMI events in {plan.recording}")
    repeat = max(1, plan.events // len(frames))
    rows = []
    for mode in MODES:
        row = asyncio.run(_consume(mode, frames, repeat))
        rows.append(row)
        progress(f"  {mode:<8} {row['events_per_s']:>10} events/s  {row['cpu_us_per_event']} µs CPU/event")
    by_mode = {row["mode"]: row for row in rows}
    return {"recorded_events": len(frames), "mix": mix(frames)[:12], "rows": rows,
            "ratios": [{"what": "AMI events/s, daemon / raw parse floor",
                        "value": ratio(by_mode["daemon"]["events_per_s"], by_mode["floor"]["events_per_s"])},
                       {"what": "AMI events/s, daemon / Framer alone",
                        "value": ratio(by_mode["daemon"]["events_per_s"], by_mode["framer"]["events_per_s"])}]}
