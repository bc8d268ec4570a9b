"""Running the suite in parallel (scripts/test runs `pytest -n 2`, pytest-xdist).

Each xdist worker takes its own Asterisk sandbox instance (its ports move by 100 per instance, see
scripts/asterisk-sandbox), from IVR_SANDBOX_INSTANCES ("1,2" unless set: instance 0 runs in the base root
that the others copy), before any harness module
reads IVR_SANDBOX_INSTANCE. Without xdist nothing changes: IVR_SANDBOX_INSTANCE as set, else 0.

Tests are handed to the workers a whole file at a time (`--dist loadfile`: a file's module fixtures are
set up once; test_cluster_failover.py's one cluster of namespaces and sandbox instances 7 and 8 is never
started twice at once). The long integration files go first, so that the short unit files fill the end
of the run rather than one worker finishing a long file alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", … in a worker; unset otherwise
if _WORKER:
    _INSTANCES = [part.strip() for part in os.environ.get("IVR_SANDBOX_INSTANCES", "1,2").split(",") if part.strip()]
    _INDEX = int(_WORKER.removeprefix("gw"))
    if len(_INSTANCES) <= _INDEX:
        raise pytest.UsageError(f"xdist worker {_WORKER} has no sandbox instance: IVR_SANDBOX_INSTANCES="
                                f"{','.join(_INSTANCES)} names {len(_INSTANCES)}; run with -n {len(_INSTANCES)} "
                                "or name more instances")
    os.environ["IVR_SANDBOX_INSTANCE"] = _INSTANCES[_INDEX]


def _order_of(item: pytest.Item) -> int:
    """The cluster drill first (the longest file), then the other integration files, then the unit tests."""
    path = Path(str(item.fspath)).resolve()
    if path.stem == "test_cluster_failover":
        return 0
    return 1 if (HERE / "integration") in path.parents else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_order_of)  # stable: a file's tests stay together and in their order
    if _WORKER:
        # xdist runs a node id once: tests sharing one (schemathesis' operations) would silently not run.
        seen: set[str] = set()
        shared = sorted({item.nodeid for item in items if item.nodeid in seen or seen.add(item.nodeid)})
        if shared:
            raise pytest.UsageError("these node ids name several tests, and xdist would run each only once; "
                                    "run their files without -n (scripts/test does for the OpenAPI test):\n  "
                                    + "\n  ".join(shared))
