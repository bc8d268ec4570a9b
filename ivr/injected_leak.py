"""A deliberate leak, for proving that the soak's memory criterion catches one (tests only).

`IVR_TEST_LEAK_BYTES_PER_CALL=10240` makes the daemon keep that many bytes for every FastAGI call it
ends. It is read only by a daemon run with `--allow-test-clock` (a test run), never in production.
It lives beside the daemon rather than in `ivr.testing`: that floor is above the daemon, and the
daemon may not import upwards (tests/unit/test_import_graph.py).
"""

from __future__ import annotations

import os

ENV_VAR = "IVR_TEST_LEAK_BYTES_PER_CALL"


class CallLeak:
    def __init__(self, bytes_per_call: int) -> None:
        self.bytes_per_call = bytes_per_call
        self._kept: list[bytes] = []

    def call_ended(self) -> None:
        # Random bytes: their pages are written, so they count in RSS (zeroed memory might not).
        self._kept.append(os.urandom(self.bytes_per_call))


def leak_from_environment(test_mode: bool) -> CallLeak | None:
    size = int(os.environ.get(ENV_VAR, "0") or "0")
    return CallLeak(size) if test_mode and size > 0 else None
