"""What the inbound route tells the agents' desktop in `menu_finished`, over a real FastAGI session
(Asterisk faked on the wire): the case number keyed into the `collect` node, never a phone number keyed
there, and the repeat-caller flag of the queue priority's boost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivr.daemon import Daemon
from ivr.events import names
from ivr.events.sink import FanoutSink, MemorySink
from ivr.settings import Settings
from ivr.testing.fake_asterisk import fake_call

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[tuple[Daemon, MemorySink]]:
    running = Daemon(Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True))
    seen = MemorySink()
    assert isinstance(running.app.events, FanoutSink)
    running.app.events.add(seen)
    await running.start()
    yield running, seen
    await running.stop(grace=1)


def finished(seen: MemorySink, uniqueid: str) -> dict[str, Any]:
    return next(data for event, uid, data in seen.events if event == names.MENU_FINISHED and uid == uniqueid)


async def test_case_number_and_repeat_caller_but_never_a_number(daemon: tuple[Daemon, MemorySink]) -> None:
    running, seen = daemon
    port = running.server.port
    for uniqueid, caller, keyed in (("9.1", "+46701112233", "20231234"), ("9.2", "+46701112233", "20231234"),
                                    ("9.3", "+46704445566", "0709998877"), ("9.4", "+46704445566", "704445566")):
        await fake_call(port, keys=["1", "3", *keyed, "#"], caller=caller, uniqueid=uniqueid, variables=WEEKDAY)
    first, again, number, own = (finished(seen, f"9.{i}") for i in (1, 2, 3, 4))
    assert (first["digits"], first["repeat_caller"]) == ({"case_number": "20231234"}, False)
    assert (again["digits"], again["repeat_caller"]) == ({"case_number": "20231234"}, True)
    assert "building_case" in first["nodes"] and first["queue"] == "kc-building"
    assert number["digits"] == {} and own["digits"] == {}  # shaped like a number; the caller's own number
    assert "0709998877" not in repr(seen.events) and "704445566" not in repr(seen.events)
