"""What an integration test runs against: one marker of KINDS on every test (tests/integration/README.md
counts them), checked while it runs, so that the markers and the counts stay true.

The conftest refuses a test without exactly one kind, and fails one that starts what its kind does not
allow (an `ivr run` child in a test marked in_process_daemon, say) or a daemon test that started none.
"""

from __future__ import annotations

KINDS = {
    "real_daemon": "runs `ivr run` as a child process on the real Asterisk",
    "in_process_daemon": "runs the daemon (ivr.daemon.Daemon) inside the pytest process on the real Asterisk",
    "asterisk_only": "the real Asterisk without the daemon: a fake FastAGI peer, or the dialplan, AMI and queues alone",
    "no_asterisk": "neither Asterisk nor the daemon: the test harness's own parsing",
}

_current: str | None = None
_started: set[str] = set()


def begin(kind: str) -> None:
    global _current
    _current = kind
    _started.clear()


def started(kind: str, what: str) -> None:
    """Called where a daemon starts (`kind`: real_daemon or in_process_daemon); outside pytest, a no-op."""
    if _current is None:
        return
    if _current != kind:
        raise AssertionError(f"this test is marked {_current} but starts {what} (a {kind} test)")
    _started.add(kind)


def end(started_elsewhere: bool) -> str:
    """"" if the test did what its kind says; else why not."""
    global _current
    kind, _current = _current, None
    if kind in ("real_daemon", "in_process_daemon") and kind not in _started and not started_elsewhere:
        return f"marked {kind} but no daemon was started"
    return ""
