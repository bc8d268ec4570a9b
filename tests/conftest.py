"""Running the suite in parallel (scripts/test runs `pytest -n 2`, pytest-xdist).

Each xdist worker takes its own Asterisk sandbox instance (its ports move by 100 per instance, see
scripts/asterisk-sandbox), from IVR_SANDBOX_INSTANCES ("1,2" unless set: instance 0 runs in the base root
that the others copy), before any harness module
reads IVR_SANDBOX_INSTANCE. Without xdist nothing changes: IVR_SANDBOX_INSTANCE as set, else 0.

Tests are handed to the workers a whole file at a time (the file's module fixtures are set up once),
and the two cluster files as one unit: both use the same two sandbox instances and namespaces
(tests/integration/harness/cluster.py). The long integration files go first, so that the short unit
files fill the end of the run rather than one worker finishing a long file alone.
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

# Files that must never run at the same time as each other: one work unit, one worker.
SHARED_UNITS = {"test_cluster_failover": "cluster", "test_cluster_callbacks": "cluster"}


def _unit_of(item: pytest.Item) -> str:
    stem = Path(str(item.fspath)).stem
    return SHARED_UNITS.get(stem, str(Path(str(item.fspath)).resolve().relative_to(HERE)))


def _order_of(item: pytest.Item) -> int:
    """Cluster first (the longest unit), then the other integration files, then the unit tests."""
    if Path(str(item.fspath)).stem in SHARED_UNITS:
        return 0
    return 1 if (HERE / "integration") in Path(str(item.fspath)).resolve().parents else 2


@pytest.hookimpl(tryfirst=True)  # before xdist reads the group markers (it appends them to node ids)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_unit_of(item)))
    items.sort(key=_order_of)  # stable: a file's tests stay together and in their order
