"""The integration tests' kind markers (tests/integration/harness/kinds.py): the guard that holds a test
to its marker, and the counts tests/integration/README.md gives, checked against `pytest --collect-only`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
REPO = INTEGRATION.parents[1]
if str(INTEGRATION) not in sys.path:
    sys.path.insert(0, str(INTEGRATION))

from harness import kinds  # noqa: E402


def test_a_test_may_start_only_what_its_marker_says() -> None:
    kinds.begin("in_process_daemon")
    with pytest.raises(AssertionError, match="marked in_process_daemon but starts"):
        kinds.started("real_daemon", "`ivr run`")
    kinds.started("in_process_daemon", "the daemon inside pytest")
    assert kinds.end(started_elsewhere=False) == ""


def test_a_daemon_test_that_starts_none_is_reported() -> None:
    kinds.begin("real_daemon")
    assert "no daemon was started" in kinds.end(started_elsewhere=False)
    kinds.begin("real_daemon")
    assert kinds.end(started_elsewhere=True) == ""  # the benchmark starts its own `ivr run`
    kinds.begin("asterisk_only")
    assert kinds.end(started_elsewhere=False) == ""


def test_outside_a_test_nothing_is_checked() -> None:
    kinds.started("real_daemon", "scripts/soak's daemon")  # no begin(): scripts/soak, not pytest


# One collection for all counts: a plugin prints each collected test's kind marker.
KIND_PLUGIN = """
def pytest_collection_finish(session):
    for item in session.items:
        marks = [m.name for m in item.iter_markers() if m.name in KINDS]
        print("KIND", marks[0] if len(marks) == 1 else "?", item.nodeid)
from harness.kinds import KINDS
"""


def collected_kinds(tmp_path: Path) -> Counter[str]:
    (tmp_path / "kind_plugin.py").write_text(KIND_PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(INTEGRATION)])}
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/integration", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "-p", "kind_plugin"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return Counter(line.split()[1] for line in done.stdout.splitlines() if line.startswith("KIND "))


def test_the_readme_counts_are_the_collected_counts(tmp_path: Path) -> None:
    """`pytest tests/integration --collect-only -q -m KIND` gives the same numbers (README.md)."""
    readme = (INTEGRATION / "README.md").read_text(encoding="utf-8")
    table = {kind: int(count) for kind, count in re.findall(r"^\| `(\w+)` \| [^|]+ \| (\d+) \|", readme,
                                                              re.MULTILINE)}
    actual = collected_kinds(tmp_path)
    assert "?" not in actual
    assert table == dict(actual)
    total = re.search(r"^(\d+) in all\.", readme, re.MULTILINE)
    assert total and int(total[1]) == sum(actual.values())
