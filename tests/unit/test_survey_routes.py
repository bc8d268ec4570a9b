"""The survey's two halves in the daemon, over a real TCP FastAGI session (Asterisk faked on the wire):
the offer in route `inbound` (IVR_SURVEY=1 before IVR_RESULT, only for a caller who pressed 1, only in
a group with `survey:`) and the question in route `survey` (the score as a `survey_answered` event)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivr.daemon import Daemon
from ivr.events import names
from ivr.events.sink import FanoutSink
from ivr.settings import Settings
from ivr.testing.fake_asterisk import FakeCallResult, fake_call

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}
STREETS_EN = ["2", "4"]  # English, then streets and parks
SCHOOL_SV = ["", "1"]  # Swedish (no key), then preschool and school


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: str, call: object = None, **data: Any) -> None:
        if event.startswith("survey_"):
            self.seen.append((event, data))


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    config = tmp_path / "config"
    shutil.copytree(REPO / "agents", config / "agents")
    shutil.copytree(REPO / "dialplans", config / "dialplans")
    shutil.copy(REPO / "routing_rules.yaml", config / "routing_rules.yaml")
    groups = config / "agents" / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    groups.write_text(text.replace("  streets:\n", "  streets:\n    survey: {wait_s: 3}\n"), encoding="utf-8")
    running = Daemon(Settings(config_paths=[str(config)], agi_port=0, state_dir=tmp_path / "state",
                              allow_test_clock=True))
    await running.start()
    yield running
    await running.stop(grace=1)


def events_of(daemon: Daemon) -> Events:
    sink = Events()
    assert isinstance(daemon.app.events, FanoutSink)
    daemon.app.events.add(sink)
    return sink


def set_order(result: FakeCallResult) -> list[str]:
    return [c.split('"')[1] for c in result.commands if c.startswith("SET VARIABLE")]


async def test_a_caller_who_presses_1_at_the_offer_is_queued_for_the_survey(daemon: Daemon) -> None:
    sink = events_of(daemon)
    result = await fake_call(daemon.server.port, keys=[*STREETS_EN, "1"], variables=WEEKDAY)
    assert any("ivr/en/survey-offer" in c for c in result.commands)
    assert result.variables["IVR_SURVEY"] == "1"
    assert (result.variables["IVR_QUEUE"], result.variables["IVR_RESULT"]) == ("kc-streets", "queue")
    order = set_order(result)
    assert order.index("IVR_SURVEY") < order.index("IVR_RESULT") == len(order) - 1
    assert sink.seen == [(names.SURVEY_OPTED_IN, {"group": "streets"})]


async def test_no_key_or_another_key_at_the_offer_is_no(daemon: Daemon) -> None:
    sink = events_of(daemon)
    for key in ("", "2"):
        result = await fake_call(daemon.server.port, keys=[*STREETS_EN, key], variables=WEEKDAY)
        assert any("ivr/en/survey-offer" in c for c in result.commands)
        assert "IVR_SURVEY" not in result.variables and result.variables["IVR_RESULT"] == "queue"
    assert sink.seen == []


async def test_a_group_without_the_survey_offers_nothing(daemon: Daemon) -> None:
    result = await fake_call(daemon.server.port, keys=SCHOOL_SV, variables=WEEKDAY)
    assert result.variables["IVR_QUEUE"] == "kc-school"
    assert not any("survey" in c for c in result.commands)
    assert "IVR_SURVEY" not in result.variables


async def test_the_survey_route_asks_again_after_a_wrong_key_and_reports_the_score(daemon: Daemon) -> None:
    sink = events_of(daemon)
    result = await fake_call(daemon.server.port, route="survey", keys=["9", "4"], uniqueid="1796000000.7",
                             variables={"IVR_SURVEY": "1", "IVR_QUEUED": "kc-streets"},
                             extra_headers={"agi_language": "en"})
    played = [c.split()[2].strip('"') for c in result.commands if c.startswith("STREAM FILE")]
    assert played == ["ivr/en/survey-question", "ivr/en/survey-invalid", "ivr/en/survey-question",
                      "ivr/en/survey-thanks"]
    assert sink.seen == [(names.SURVEY_ANSWERED, {"score": 4, "queue": "kc-streets", "group": "streets"})]


async def test_the_survey_route_asks_nothing_without_consent(daemon: Daemon) -> None:
    sink = events_of(daemon)
    result = await fake_call(daemon.server.port, route="survey", keys=["5"], variables={"IVR_QUEUED": "kc-streets"})
    assert not any(c.startswith("STREAM FILE") for c in result.commands)
    assert sink.seen == []
