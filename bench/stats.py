"""Numbers the sections share: percentiles, and a process's CPU time and memory read from /proc."""

from __future__ import annotations

import os
import resource
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of unsorted samples (0.0 for none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p99/p99.9/max of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    return {name: round(percentile(ordered, q) * 1000, 3)
            for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999), ("max", 1.0))}


@dataclass(frozen=True)
class ProcSample:
    cpu_s: float  # user + system time of all its threads so far
    rss_kb: int
    hwm_kb: int  # peak resident set size since start (or since the last reset_peak)


def sample(pid: int) -> ProcSample:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat)
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    return ProcSample(cpu, _kb(status.get("VmRSS", "0 kB")), _kb(status.get("VmHWM", "0 kB")))


def cpu_by_pid(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds so far of each process still there (one may have ended since it was listed)."""
    found = {}
    for pid in pids:
        try:
            found[pid] = sample(pid).cpu_s
        except (OSError, ValueError, IndexError):
            continue
    return found


def used_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two cpu_by_pid samples: a process only in `after` started in between and
    counts whole; one only in `before` ended in between and its last moments are lost."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current RSS (Linux: write 5 to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _kb(text: str) -> int:
    return int(text.split()[0])


def raise_open_files_limit(wanted: int = 65536) -> int:
    """Lift the soft limit on open files towards `wanted` (2,000 sessions need two sockets each
    in the load generator); children inherit it. Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None
