"""Returning callers on the daemon's inbound route (Asterisk faked on the wire): a citizen the city
tried to reach is offered a connection before the menu; everyone else hears the menu as before."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.contacts import store
from ivr.contacts.registry import ContactRegistry
from ivr.contacts.services import ContactServices
from ivr.contacts.store import Attempt, new_attempt_id
from ivr.daemon import Daemon
from ivr.events import names
from ivr.events.sink import FanoutSink, MemorySink
from ivr.settings import Settings
from ivr.store.db import Database
from ivr.testing.fake_asterisk import fake_call

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}
CITIZEN = "+46701234567"


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True,
                        wallboard_port=0)
    running = Daemon(settings)
    await running.start()
    yield running
    await running.stop(grace=1)


@pytest.fixture
def events(daemon: Daemon) -> MemorySink:
    sink = MemorySink()
    assert isinstance(daemon.app.events, FanoutSink)
    daemon.app.events.add(sink)
    return sink


async def missed(daemon: Daemon, *, placer: str = "johan.ek", kind: str = "official", department: str = "education",
                 disclosure: str = "person", outcome: str = "no_answer", number: str = CITIZEN) -> str:
    """An attempt that did not reach the citizen, as the outbound route and its hangup handler leave it."""
    assert daemon.app.contacts is not None
    now = time.time()
    item = Attempt(attempt_id=new_attempt_id(), number_hash=daemon.app.hasher.digest(number), attempted_at=now - 60,
                   expires_at=now + 86400, placer_kind=kind, placer=placer, department=department,
                   disclosure=disclosure, shown="main_number", purpose="callback", outcome=outcome)
    await daemon.app.contacts.registry.run(lambda db: store.insert(db, item), timeout=5)
    return item.attempt_id


async def rows(daemon: Daemon, sql: str) -> list[tuple[object, ...]]:
    assert daemon.app.contacts is not None
    await daemon.app.contacts.registry.settled()
    return await daemon.app.contacts.registry.run(lambda db: db.fetchall(sql), timeout=5)


def plays(commands: list[str]) -> list[str]:
    return [c.split('"')[1] for c in commands if c.startswith("STREAM FILE")]


async def test_accepting_connects_to_the_officials_line_then_the_departments_queue(daemon: Daemon,
                                                                                   events: MemorySink) -> None:
    attempt_id = await missed(daemon)
    result = await fake_call(daemon.server.port, keys=["1"], caller="0701234567", variables=WEEKDAY,
                             interrupt_plays=True)
    assert plays(result.commands) == ["ivr/sv/returning-caller"]  # pressed 1 during the Swedish notice
    assert result.variables["IVR_TARGET"] == "+4640342102"
    assert result.variables["IVR_TRANSFER_QUEUE"] == "kc-school"
    assert result.variables["IVR_LANG"] == "sv"
    assert list(result.variables)[-1] == "IVR_RESULT" and result.variables["IVR_RESULT"] == "transfer"
    assert 'STREAM FILE "ivr/sv/returning-caller" "1"' in result.commands  # only the offer key interrupts
    [(_, _, data)] = [e for e in events.events if e[0] == names.RETURNING_CALLER]
    assert data["disclosure"] == "person" and data["placer_name"] == "Johan Ek" and data["offer"] == "accepted"
    finished = [data for event, _, data in events.events if event == names.MENU_FINISHED][-1]
    assert (finished["outcome"], finished["target"], finished["tags"]) == \
        ("transfer", "+4640342102", {"service": "returning_caller", "department": "education"})
    assert await rows(daemon, "SELECT attempt_id, return_outcome FROM contact_attempts") == [(attempt_id, "accepted")]
    # Offered once: the next call hears the menu.
    again = await fake_call(daemon.server.port, keys=["1", "5"], caller=CITIZEN, variables=WEEKDAY)
    assert "ivr/sv/returning-caller" not in plays(again.commands)


async def test_declining_gives_the_menu_after_the_notice_in_swedish_and_english(daemon: Daemon,
                                                                                events: MemorySink) -> None:
    await missed(daemon, placer="lina.holm", department="city_planning", disclosure="department")
    result = await fake_call(daemon.server.port, keys=["", "1", "5"], caller=CITIZEN, variables=WEEKDAY)
    played = plays(result.commands)
    assert played[:3] == ["ivr/sv/returning-caller", "ivr/en/returning-caller", "ivr/main/sv/welcome"]
    assert result.variables["IVR_RESULT"] == "queue" and "IVR_TARGET" not in result.variables
    [(_, _, data)] = [e for e in events.events if e[0] == names.RETURNING_CALLER]
    assert data == {**data, "disclosure": "department", "department": "city_planning", "offer": "declined"}
    assert "placer" not in data and "purpose" not in data
    assert await rows(daemon, "SELECT return_outcome FROM contact_attempts") == [("declined",)]


async def test_a_declining_returning_caller_gets_the_queue_boost_without_a_second_lookup(daemon: Daemon) -> None:
    await missed(daemon)
    boosted = await fake_call(daemon.server.port, keys=["", "1", "5"], caller=CITIZEN, variables=WEEKDAY)
    plain = await fake_call(daemon.server.port, keys=["1", "5"], caller="+46709998877", variables=WEEKDAY)
    returning_boost = daemon.app.config.current.rules.queueing.priority.returning_boost
    assert int(boosted.variables["IVR_PRIORITY"]) == int(plain.variables["IVR_PRIORITY"]) + returning_boost
    lookups = await rows(daemon, "SELECT COUNT(*) FROM contact_audit WHERE action = 'returning_caller_lookup'")
    assert lookups == [(2,)]  # one lookup per call: the boost reuses what the offer step found


async def test_disclosure_none_routes_the_call_and_tells_agents_nothing(daemon: Daemon, events: MemorySink) -> None:
    await missed(daemon, placer="sara.nilsson", department="social_services", disclosure="none")
    result = await fake_call(daemon.server.port, keys=["1"], caller=CITIZEN, variables=WEEKDAY, interrupt_plays=True)
    assert (result.variables["IVR_TARGET"], result.variables["IVR_TRANSFER_QUEUE"]) == ("+4640342101", "kc-social")
    assert [e for e in events.events if e[0] == names.RETURNING_CALLER] == []
    finished = [data for event, _, data in events.events if event == names.MENU_FINISHED][-1]
    assert finished["tags"] == {"service": "returning_caller"}  # not even the department


async def test_an_agents_attempt_goes_straight_to_the_groups_queue(daemon: Daemon) -> None:
    await missed(daemon, placer="david.lind", kind="agent", department="streets_and_parks", disclosure="department")
    result = await fake_call(daemon.server.port, keys=["1"], caller=CITIZEN, variables=WEEKDAY, interrupt_plays=True)
    assert result.variables["IVR_RESULT"] == "queue"
    assert result.variables["IVR_QUEUE"].startswith("kc-streets")
    assert "IVR_TARGET" not in result.variables


async def test_no_attempt_one_audited_lookup_and_the_menu_as_before(daemon: Daemon) -> None:
    await missed(daemon, outcome="answered")  # reached: nothing to call back about
    await missed(daemon, number="+46709999999")  # someone else
    result = await fake_call(daemon.server.port, keys=["1", "5"], caller=CITIZEN, variables=WEEKDAY)
    assert plays(result.commands)[0] == "ivr/main/sv/welcome"
    assert result.variables["IVR_RESULT"] == "queue"
    audit = await rows(daemon, "SELECT actor, action, result_count FROM contact_audit "
                               "WHERE action = 'returning_caller_lookup'")
    assert audit == [("daemon", "returning_caller_lookup", 0)]


@pytest.mark.parametrize("caller", ["", "anonymous", "unknown"])
async def test_withheld_number_is_not_looked_up(daemon: Daemon, caller: str) -> None:
    result = await fake_call(daemon.server.port, keys=["1", "5"], caller=caller, variables=WEEKDAY)
    assert plays(result.commands)[0] == "ivr/main/sv/welcome"
    assert await rows(daemon, "SELECT * FROM contact_audit WHERE action = 'returning_caller_lookup'") == []


async def test_registry_down_costs_the_caller_at_most_the_lookup_timeout(daemon: Daemon, tmp_path: Path) -> None:
    assert daemon.app.contacts is not None

    def hanging_database(url: str) -> Database:
        time.sleep(1.5)  # e.g. PostgreSQL unreachable until connect_timeout
        raise OSError("unreachable")

    slow = ContactRegistry(f"sqlite:///{tmp_path / 'other.db'}", opener=hanging_database, lookup_timeout_s=0.2)
    daemon.app.contacts = ContactServices(slow, daemon.app.contacts.precall)
    started = time.perf_counter()
    result = await fake_call(daemon.server.port, keys=["1", "5"], caller=CITIZEN, variables=WEEKDAY)
    assert time.perf_counter() - started < 1.0
    assert result.variables["IVR_RESULT"] == "queue"
    await slow.close()
