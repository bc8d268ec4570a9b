"""The cluster of docs/cluster.md under steady SIP traffic (harness/cluster.py, cluster_drill.py):
Kamailio in front of two Asterisk nodes (sandbox instances 7 and 8 in network namespaces), two
daemons on one PostgreSQL schema and the shared broker, SIPp citizens calling through Kamailio into
the main menu and kc-streets. A daemon and then an Asterisk node are SIGKILLed and restarted.

It needs neither the session's sandbox (instance N) nor anything of another run: the module turns
the directory's autouse sandbox fixture off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.cluster import ClusterRun
from harness.cluster_drill import drill

from ivr.testing.postgres import pg_schema

pytestmark = pytest.mark.real_daemon(started_by="harness/cluster.py: each node's `ivr run` in its own namespace")


@pytest.fixture
def _asterisk_running() -> None:
    """Overrides conftest's: the cluster starts its own two Asterisk nodes."""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterRun]:
    with pg_schema() as db_url:
        run = ClusterRun(tmp_path, db_url=db_url)
        try:
            run.start()
            yield run
        finally:
            run.stop()


@pytest.mark.timeout(300)
def test_calls_keep_flowing_when_a_daemon_and_an_asterisk_node_die(cluster: ClusterRun, tmp_path: Path) -> None:
    figures = drill(cluster, tmp_path)
    print(json.dumps(figures.as_dict(), indent=2))  # the figures of docs/reliability.md, for the record
    # A daemon killed: its share of new calls went to the other daemon, none heard the apology.
    assert figures.daemon_new_calls > 0
    assert figures.daemon_new_calls_retried > 0, "no new call met the dead daemon: the failover path was not tried"
    assert figures.daemon_new_calls_fallback == 0
    assert figures.daemon_rejoined_calls > 0, "the restarted daemon took no call"
    # An Asterisk node killed: out within the probing window (1 s interval, 2 lost probes, plus one
    # probe's timeout), no new call failed, neither before the detection (failure_route) nor after.
    assert figures.failover_s < 4.0
    assert figures.new_calls_before_detection_failed == 0
    assert figures.calls_moved_failed == 0
    assert figures.new_calls_after_detection > 0
    assert figures.new_calls_after_detection_failed == 0
    # Rejoin: back in the list and answering new calls, with nothing else restarted.
    assert figures.rejoin_s < 5.0
    assert figures.node_calls_after_rejoin > 0
    # Calls in progress on the killed node are lost (their media went to it): counted, not hidden.
    assert figures.failed_calls == figures.node_calls_in_progress
