"""Running one section of `bench/run --smoke` from an integration test (test_bench_*_smoke.py).

A section that needs Asterisk stops and restarts the sandbox instance it runs on, with the benchmark's
configuration, so it never uses this session's instance: it runs on IVR_BENCH_SANDBOX_INSTANCE, else on
this session's instance + 20 (ports move by 100 per instance, see scripts/asterisk-sandbox).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.ports import INSTANCE

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class SmokeRun:
    instance: int
    stdout: str
    results: dict[str, Any]


def run_smoke_section(section: str, tmp_path: Path, *, timeout: float = 280.0) -> SmokeRun:
    """`bench.suite --smoke --only <section>` on the bench's own instance; fails the test if it failed."""
    instance = int(os.environ.get("IVR_BENCH_SANDBOX_INSTANCE", "") or INSTANCE + 20)
    results_path = tmp_path / "results.json"
    env = dict(os.environ, IVR_SANDBOX_INSTANCE=str(instance))
    done = subprocess.run([sys.executable, "-m", "bench.suite", "--smoke", "--only", section, "--work",
                           str(tmp_path / "work"), "--json", str(results_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return SmokeRun(instance, done.stdout, json.loads(results_path.read_text(encoding="utf-8")))
