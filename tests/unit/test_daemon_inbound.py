"""The daemon's inbound route end to end over a real TCP FastAGI session (Asterisk faked on the wire)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ivr.daemon import Daemon
from ivr.events import names
from ivr.events.sink import FanoutSink
from ivr.privacy import mask_number
from ivr.settings import Settings
from ivr.testing.fake_asterisk import fake_call

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True)
    running = Daemon(settings)
    await running.start()
    yield running
    await running.stop(grace=1)


@pytest.mark.parametrize(
    ("keys", "queue", "language"),
    [(["2", "4"], "kc-streets", "en"), (["", "1"], "kc-school", "sv"), (["3", "2", "1"], "kc-social", "ar")],
)
async def test_menu_choice_sets_queue_for_dialplan(daemon: Daemon, keys: list[str], queue: str, language: str) -> None:
    result = await fake_call(daemon.server.port, keys=keys, variables=WEEKDAY)
    assert result.variables["IVR_QUEUE"] == queue
    assert result.variables["IVR_LANG"] == language
    assert result.variables["IVR_RESULT"] == "queue"
    # IVR_RESULT is the last thing set, so a half-finished session leaves the dialplan on its fallback path.
    assert [c for c in result.commands if c.startswith("SET VARIABLE")][-1].startswith('SET VARIABLE "IVR_RESULT"')
    assert result.commands[0].startswith("GET VARIABLE")  # the test clock, allowed by the fixture
    assert any(c.startswith("ANSWER") for c in result.commands)


async def test_closed_on_christmas_eve_plays_message_and_hangs_up(daemon: Daemon) -> None:
    result = await fake_call(daemon.server.port, keys=["1"], variables={"IVR_TEST_NOW": "2026-12-24T10:00"})
    assert result.variables["IVR_RESULT"] == "hangup"
    assert "IVR_QUEUE" not in result.variables
    assert sum("ivr/main/sv/holiday_closed" in c for c in result.commands) == 2


async def test_test_clock_is_ignored_without_the_flag(tmp_path: Path) -> None:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path)
    running = Daemon(settings)
    await running.start()
    try:
        result = await fake_call(running.server.port, keys=["1"], variables={"IVR_TEST_NOW": "2026-12-24T10:00"})
    finally:
        await running.stop(grace=1)
    assert not any(c.startswith("GET VARIABLE") for c in result.commands)


async def test_caller_number_never_in_logs(daemon: Daemon) -> None:
    import io

    import structlog

    from ivr.logs import configure_logging

    buffer = io.StringIO()
    configure_logging("info", stream=buffer)
    try:
        await fake_call(daemon.server.port, keys=["1", "5"], caller="+46701234567", variables=WEEKDAY)
    finally:
        structlog.reset_defaults()
    out = buffer.getvalue()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "menu finished" for line in lines)
    assert "701234567" not in out
    assert any(line.get("caller") == mask_number("+46701234567") for line in lines)


class ReloadWhenMenuStarts:
    """An event sink that reloads the daemon's config (after an admin's edit) as the caller reaches the menu."""

    def __init__(self, daemon: Daemon, edit: Callable[[], None]) -> None:
        self.daemon, self.edit = daemon, edit
        self.reloaded_to = ""

    def emit(self, event: str, call: object = None, **data: object) -> None:
        if event == names.IVR_NODE and data.get("node") == "main_menu" and not self.reloaded_to:
            self.edit()
            report = self.daemon.app.config.reload()
            assert report.ok and report.new_version != report.old_version
            self.reloaded_to = report.new_version


async def test_a_reload_during_the_menu_leaves_the_call_on_its_first_version(tmp_path: Path) -> None:
    root = tmp_path / "cfg"
    for part in ("dialplans", "agents"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "routing_rules.yaml", root)
    groups = root / "agents" / "groups.yaml"
    settings = Settings(config_paths=[str(root)], agi_port=0, state_dir=tmp_path, allow_test_clock=True)
    running = Daemon(settings)
    await running.start()
    try:
        first = running.app.config.current.version
        assert first and isinstance(running.app.events, FanoutSink)

        def shorten_the_overflow() -> None:
            text = groups.read_text(encoding="utf-8")
            old, new = "overflow: {to: general, after: 300,", "overflow: {to: general, after: 120,"
            assert text.count(old) == 1
            groups.write_text(text.replace(old, new), encoding="utf-8")

        reloader = ReloadWhenMenuStarts(running, shorten_the_overflow)
        running.app.events.add(reloader)
        during = await fake_call(running.server.port, keys=["2", "4"], variables=WEEKDAY)
        after = await fake_call(running.server.port, keys=["2", "4"], variables=WEEKDAY)
    finally:
        await running.stop(grace=1)
    reloaded_to = reloader.reloaded_to
    assert reloaded_to
    # The menu and the queue placement both ran on the version the call started on...
    assert during.variables["IVR_CONFIG_VERSION"] == first
    assert (during.variables["IVR_QUEUE"], during.variables["IVR_QUEUE_TIMEOUT"]) == ("kc-streets", "300")
    # ...and the next call runs on the new one.
    assert after.variables["IVR_CONFIG_VERSION"] == reloaded_to
    assert (after.variables["IVR_QUEUE"], after.variables["IVR_QUEUE_TIMEOUT"]) == ("kc-streets", "120")
