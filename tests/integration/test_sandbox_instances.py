"""Sandbox instances start whatever another left in their root: an instance root is a hard-linked copy
of the base root, and a copy made while instance 0 ran linked instance 0's live control socket, so the
new instance's Asterisk found a listener on it and refused to start ("already running"). The build
path (the base root, whatever the instance): tests/unit/test_sandbox_build_path.py."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest
from harness.sandbox import Sandbox

pytestmark = pytest.mark.asterisk_only


@contextlib.contextmanager
def someone_listening_on(path: str) -> Iterator[None]:
    """A live UNIX socket at `path`, as another instance's running Asterisk would have there."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(1)
        yield
    finally:
        listener.close()


def test_a_live_control_socket_in_the_root_does_not_stop_a_start(asterisk: Sandbox) -> None:
    control = asterisk.root / "run" / "asterisk" / "asterisk.ctl"  # through the root's own /run
    asterisk.stop()
    try:
        control.parent.mkdir(parents=True, exist_ok=True)
        control.unlink(missing_ok=True)
        with someone_listening_on(str(control)):
            asterisk.start()
            assert asterisk.running()
            assert "Asterisk" in asterisk.cli("core show version")
    finally:
        if not asterisk.running():  # leave the session's sandbox as the other tests expect it
            asterisk.start()
