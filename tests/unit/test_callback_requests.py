"""Callback requests left outside opening hours: the next opening (Swedish holidays and eves,
shortened days, dated exceptions), the per-day limit, the order they are placed in at the opening,
the test-only scheduler clock, config errors at file:line, and the caller's dialogue on the
inbound route."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_agents import AgiPhone, agi_session
from test_callbacks import SEAL, Clock, settle

from ivr.callbacks import store
from ivr.callbacks.service import CallbackService
from ivr.callbacks.store import NewCallback
from ivr.clock import TEST_CLOCK_FILE, SchedulerClock
from ivr.config import Problem
from ivr.config.holder import ConfigHolder
from ivr.config.model import Schedule
from ivr.daemon import Daemon
from ivr.entrypoints.callback_request import opening_day
from ivr.events import names
from ivr.events.sink import FanoutSink, MemorySink
from ivr.live.queue_view import QueueView
from ivr.opening_hours import next_opening
from ivr.records.model import CallRecord
from ivr.reports.compute import build_report, stats
from ivr.reports.query import Period, to_call
from ivr.reports.render import as_csv, as_table
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.testing.fake_ami import FakeAmi
from ivr.validate import load_config
from ivr.wallboard.state import WallboardState

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Europe/Stockholm")
NUMBER = "+46701234567"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture(scope="module")
def contact_center() -> Schedule:
    return load_config([REPO]).rules.schedules["contact_center"]


# --- the next opening -------------------------------------------------------------------------------

@pytest.mark.parametrize(("moment", "opening"), [
    ("2026-12-01T10:00", "2026-12-01T10:00"),  # open now: now
    ("2026-12-01T19:30", "2026-12-02T07:00"),  # a Tuesday evening: Wednesday morning
    ("2026-12-02T05:00", "2026-12-02T07:00"),  # before the day's opening
    ("2026-12-04T18:00", "2026-12-07T07:00"),  # Friday at closing: over the weekend
    # Dag före julafton closes at 14:00; julafton (eve), juldagen, annandag jul closed, a weekend,
    # then the dated exception of 28 December (08:00-16:00).
    ("2026-12-23T14:00", "2026-12-28T08:00"),
    # Skärtorsdagen (shortened) after 14:00; långfredagen, påskafton, påskdagen, annandag påsk closed.
    ("2026-04-02T15:00", "2026-04-07T07:00"),
    ("2026-04-02T13:59", "2026-04-02T13:59"),  # still open on the shortened day
    ("2027-01-06T12:00", "2027-01-08T07:00"),  # trettondedag jul, then the closed training day
    ("2026-12-30T20:00", "2027-01-04T07:00"),  # nyårsafton (eve), nyårsdagen, a weekend
    ("2026-03-27T19:00", "2026-03-30T07:00"),  # across the change to summer time: 07:00 CEST
])
def test_next_opening_follows_swedish_holidays_eves_and_exceptions(contact_center: Schedule, moment: str,
                                                                   opening: str) -> None:
    found = next_opening(contact_center, at(moment))
    assert found is not None and found == at(opening)
    assert found.utcoffset() == at(opening).utcoffset()


def test_next_opening_of_a_schedule_that_never_opens() -> None:
    assert next_opening(Schedule(weekly={}), at("2026-12-01T10:00")) is None


def test_next_opening_from_another_zone(contact_center: Schedule) -> None:
    # 18:30 UTC on a Tuesday in winter is 19:30 in Malmö: closed until Wednesday 07:00 (06:00 UTC).
    found = next_opening(contact_center, dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC))
    assert found is not None and found.astimezone(dt.UTC) == dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)


def test_opening_day_is_the_local_calendar_day() -> None:
    start, end = opening_day(at("2026-03-29T07:00"))  # 23 hours long (summer time begins)
    assert end - start == 23 * 3600
    assert dt.datetime.fromtimestamp(start, ZONE) == at("2026-03-29T00:00")


# --- the store: per-day limit ----------------------------------------------------------------------

def request(joined_at: float, due_at: float, queue: str = "kc-general") -> NewCallback:
    return NewCallback(queue=queue, group="general", language="sv", priority=0, position=None,
                       joined_at=joined_at, caller_ref="ref", origin_uniqueid="u", expires_at=due_at + 8 * 3600,
                       kind="request", due_at=due_at)


def test_the_daily_limit_counts_requests_per_group_and_opening_day(db_url: str) -> None:
    db = open_database(db_url)
    day_one, day_two = (10_000.0, 96_400.0), (96_400.0, 182_800.0)
    try:
        first = store.create_request(db, request(1.0, 20_000.0), SEAL, NUMBER, 1.0, day=day_one, limit=2)
        second = store.create_request(db, request(2.0, 20_000.0), SEAL, NUMBER, 2.0, day=day_one, limit=2)
        assert first is not None and second is not None
        assert store.create_request(db, request(3.0, 20_000.0), SEAL, NUMBER, 3.0, day=day_one, limit=2) is None
        # Another day has its own limit; a queued ("keep my place") callback is not a request.
        assert store.create_request(db, request(4.0, 100_000.0), SEAL, NUMBER, 4.0, day=day_two, limit=2)
        store.create(db, NewCallback(queue="kc-general", group="general", language="sv", priority=0, position=1,
                                     joined_at=5.0, caller_ref="r", origin_uniqueid="v", expires_at=30_000.0),
                     SEAL, NUMBER, 5.0)
        assert store.requests_between(db, "general", *day_one) == 2
        # Sealed like every callback, not yet due: next_attempt_at is the opening.
        assert first.kind == "request" and first.next_attempt_at == 20_000.0 and first.due_at == 20_000.0
        assert SEAL.open(first.number_sealed or "", first.id) == NUMBER
        assert not any("1234567" in str(v) for row in db.fetchall("SELECT * FROM callbacks") for v in row)
        # Finished rows still count for their day: a request taken back does not free its place.
        assert store.move(db, first.id, "done", 30_000.0, status="ANSWER")
        assert store.create_request(db, request(6.0, 20_000.0), SEAL, NUMBER, 6.0, day=day_one, limit=2) is None
    finally:
        db.close()


# --- the service: placed at the opening, in the order left ------------------------------------------

@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[CallbackService]:
    view = QueueView()
    running = CallbackService(ConfigHolder([str(REPO)], load_config), f"sqlite:///{tmp_path / 'ivr.db'}", SEAL,
                              FanoutSink(MemorySink()), view=lambda: view, scan_every=3600, clock=Clock())
    running.attach(FakeAmi())
    await running._open()
    await running.resync()
    await running.start()
    yield running
    await running.stop()


def events_of(service: CallbackService) -> MemorySink:
    assert isinstance(service.events, FanoutSink) and isinstance(service.events.sinks[0], MemorySink)
    return service.events.sinks[0]


def waiting_announced(sink: MemorySink) -> list[dict[str, object]]:
    return [data for event, _, data in sink.events if event == names.CALLBACK_REQUESTS_WAITING]


async def test_requests_are_placed_at_the_opening_in_the_order_they_were_left(service: CallbackService) -> None:
    clock = service.clock
    assert isinstance(clock, Clock)
    opening = 5000.0
    day = (0.0, 86_400.0)
    booked = []
    for joined, number in ((1001.0, "+46701111111"), (1002.0, "+46702222222"), (1003.0, "+46703333333")):
        clock.now = joined
        result = await service.book_request(request(joined, opening), number, per_day=3, day=day)
        assert result is not None and result != "full"
        booked.append(result)
    clock.now = 1004.0
    assert await service.book_request(request(1004.0, opening), "+46704444444", per_day=3, day=day) == "full"
    await service.scan()
    await settle()
    assert service.ami.originated == []  # nothing before the opening
    sink = events_of(service)
    assert [d["callback_id"] for e, _, d in sink.events if e == names.CALLBACK_BOOKED] == [str(b.id) for b in booked]
    assert all(d["due_at"] == opening for e, _, d in sink.events if e == names.CALLBACK_BOOKED)
    assert waiting_announced(sink)[-1] == {"queue": "kc-general", "waiting": 3}
    clock.now = opening + 1
    await service.scan()
    for _ in range(200):  # placed one after the other: each waits for the one before to start
        if len(service.ami.originated) == 3:
            break
        await asyncio.sleep(0.02)
    placed = [o["channel"] for o in service.ami.originated]
    assert placed == [f"Local/cb{b.id}@ivr-callback-hold/n" for b in booked]
    await service.scan()  # placed: none waits for the opening any more
    assert waiting_announced(sink)[-1] == {"queue": "kc-general", "waiting": 0}
    for originate in service.ami.originated:
        assert originate["variables"]["IVR_CB_QUEUE"] == "kc-general"
        assert originate["variables"]["IVR_CB_POSITION"] == ""  # the end of the queue, in order
        assert NUMBER not in str(originate)
    # The same machinery from here: the agent answers the stand-in, the number is handed over once.
    connected = await service.connect(booked[0].id)
    assert connected is not None and connected[1] == "+46701111111"
    assert await service.result(booked[0].id, "ANSWER") == "done"
    done = await service._run_db(lambda db: store.get(db, booked[0].id))
    assert done is not None and done.number_sealed is None


async def test_a_request_not_answered_is_retried_like_any_callback(service: CallbackService) -> None:
    clock = service.clock
    assert isinstance(clock, Clock)
    result = await service.book_request(request(1000.0, 2000.0), NUMBER, per_day=5, day=(0.0, 86_400.0))
    assert result is not None and result != "full"
    clock.now = 2001.0
    await service.scan()
    await settle()
    assert await service.connect(result.id) is not None
    assert await service.result(result.id, "NOANSWER") == "pending"
    clock.now += 301  # retry_after
    await service.scan()
    await settle()
    assert service.ami.originated[-1]["variables"]["IVR_CB_POSITION"] == "1"  # a retry goes first


async def test_a_request_expires_with_its_number(service: CallbackService) -> None:
    result = await service.book_request(request(1000.0, 2000.0), NUMBER, per_day=5, day=(0.0, 86_400.0))
    assert result is not None and result != "full"
    service.clock.now = 2000.0 + 8 * 3600 + 1  # type: ignore[attr-defined]
    await service.scan()
    row = await service._run_db(lambda db: store.get(db, result.id))
    assert row is not None and row.state == "expired" and row.number_sealed is None


def test_the_wallboard_counts_requests_left_today_and_waiting_for_the_opening() -> None:
    state = WallboardState(clock=lambda: at("2026-12-01T19:40").timestamp())
    state.emit(names.CALLBACK_BOOKED, None, uniqueid="a", queue="kc-general", callback_id="1", due_at=0.0)
    state.emit(names.CALLBACK_BOOKED, None, uniqueid="b", queue="kc-general", callback_id="2", due_at=0.0)
    state.emit(names.CALLBACK_REQUESTS_WAITING, None, queue="kc-general", waiting=2)
    (queue,) = state.as_dict()["queues"]
    assert (queue["queue"], queue["today"]["callback_requests"], queue["requests_waiting"]) == ("kc-general", 2, 2)
    state.emit(names.CALLBACK_REQUESTS_WAITING, None, queue="kc-general", waiting=0)
    assert state.as_dict()["queues"][0]["requests_waiting"] == 0


# --- the scheduler's clock ---------------------------------------------------------------------------

def test_scheduler_clock_follows_the_test_file_only_when_allowed(tmp_path: Path) -> None:
    real = 1_700_000_000.0
    (tmp_path / TEST_CLOCK_FILE).write_text("2026-12-02T07:00:05+01:00\n", encoding="utf-8")
    os.utime(tmp_path / TEST_CLOCK_FILE, (real, real))
    production = SchedulerClock.for_daemon(tmp_path, allow_test_clock=False)
    assert abs(production() - __import__("time").time()) < 5  # never reads the file
    times = iter([real + 10.0, real + 20.0])
    tested = SchedulerClock(tmp_path / TEST_CLOCK_FILE, real=lambda: next(times))
    expected = dt.datetime(2026, 12, 2, 6, 0, 5, tzinfo=dt.UTC).timestamp()
    assert tested() == expected + 10.0  # the test's time, running on from when it was written
    assert tested() == expected + 20.0
    (tmp_path / TEST_CLOCK_FILE).write_text("not a time", encoding="utf-8")
    assert SchedulerClock(tmp_path / TEST_CLOCK_FILE, real=lambda: real)() == real
    assert SchedulerClock(tmp_path / "absent", real=lambda: real)() == real


# --- config errors at file:line ----------------------------------------------------------------------

Problems = Callable[..., list[Problem]]
Break = Callable[[str, str, str], Path]
GROUPS = "agents/groups.yaml"
PLAN = "dialplans/mini.yaml"


def test_requests_of_an_unknown_schedule_are_reported_at_their_line(break_file: Break, problems_of: Problems) -> None:
    break_file(GROUPS, "    description: Everything", "    description: Everything\n"
               "    callback_requests: {schedule: ofice, per_day: 10}")
    (problem,) = [p for p in problems_of() if "ofice" in p.message]
    assert (problem.file, problem.line, problem.column) == (GROUPS, 6, 35)
    assert (problem.message, problem.hint) == ("unknown schedule 'ofice'", "did you mean 'office'?")


def test_requests_without_their_prompts_are_reported(break_file: Break, problems_of: Problems) -> None:
    break_file(GROUPS, "    description: Everything", "    description: Everything\n"
               "    callback_requests: {schedule: office, per_day: 10}")
    (problem,) = problems_of()  # the minimal routing rules have no system prompts
    assert (problem.file, problem.line) == (GROUPS, 6)
    assert "callback-booked" in problem.message and "callback-limit" in problem.message


def test_a_zero_daily_limit_is_refused(break_file: Break, problems_of: Problems) -> None:
    break_file(GROUPS, "    description: Everything", "    description: Everything\n"
               "    callback_requests: {schedule: office, per_day: 0}")
    problem = problems_of()[0]
    assert (problem.file, problem.line, problem.column) == (GROUPS, 6, 52)
    assert problem.message == "groups.general.callback_requests.per_day: Input should be greater than or equal to 1"


def test_a_request_node_for_a_group_without_requests_names_the_fix(break_file: Break, problems_of: Problems) -> None:
    break_file(PLAN, "    closed: closed_message", "    closed: leave_number\n"
               "  leave_number:\n    kind: callback_request\n    group: general")
    (problem,) = [p for p in problems_of() if "callback" in p.message]
    assert (problem.file, problem.line) == (PLAN, 20)
    assert problem.message == "node 'leave_number': agent group 'general' takes no callback requests"
    assert "callback_requests: {schedule:" in problem.hint


# --- the caller's dialogue on the inbound route ------------------------------------------------------

@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True,
                        wallboard_port=0)
    running = Daemon(settings)
    running.callbacks.attach(FakeAmi())
    running.app.ami = running.callbacks.ami
    await running.start()
    await running.callbacks._open()
    await asyncio.wait_for(running.callbacks._synced.wait(), 10)
    yield running
    await running.stop(grace=1)


EVENING = {"IVR_TEST_NOW": "2026-12-01T19:30"}  # a Tuesday after closing


async def call_main_number(daemon: Daemon, keys: str, caller: str = NUMBER) -> AgiPhone:
    return await agi_session(daemon.server.port, "inbound", AgiPhone(EVENING, keys), caller=caller,
                             extension="+4640341000")


async def open_requests(daemon: Daemon) -> list[store.Callback]:
    return await daemon.callbacks._run_db(lambda db: store.in_states(db, store.OPEN_STATES))


# Keys: through the welcome and the language choice (1, Swedish, during its last language), then the
# closed offer and the number dialogue.
TO_OFFER = "---1"


async def test_after_hours_caller_confirms_their_number_for_the_next_opening(daemon: Daemon) -> None:
    phone = await call_main_number(daemon, TO_OFFER + "1" + "--1")
    assert "ivr/main/sv/closed_callback_offer" in phone.played
    assert "digits:4567" in phone.played and phone.played[-1] == "ivr/sv/callback-booked"
    assert phone.set_by_route["IVR_RESULT"] == "hangup"
    (row,) = await open_requests(daemon)
    assert (row.kind, row.queue, row.group, row.state) == ("request", "kc-general", "general", "pending")
    assert row.due_at == at("2026-12-02T07:00").timestamp() == row.next_attempt_at
    assert daemon.callbacks.seal.open(row.number_sealed or "", row.id) == NUMBER


async def test_after_hours_caller_keys_another_number(daemon: Daemon) -> None:
    phone = await call_main_number(daemon, TO_OFFER + "1" + "--2" + "0702223344#" + "--1")
    assert "digits:3344" in phone.played and phone.played[-1] == "ivr/sv/callback-booked"
    (row,) = await open_requests(daemon)
    assert daemon.callbacks.seal.open(row.number_sealed or "", row.id) == "+46702223344"


async def test_withheld_caller_must_key_a_number(daemon: Daemon) -> None:
    phone = await call_main_number(daemon, TO_OFFER + "1" + "0702223344#" + "--1", caller="anonymous")
    assert "ivr/sv/callback-enter-number" in phone.played
    (row,) = await open_requests(daemon)
    assert daemon.callbacks.seal.open(row.number_sealed or "", row.id) == "+46702223344"


async def test_the_daily_limit_refuses_with_a_message(daemon: Daemon) -> None:
    per_day = daemon.app.config.current.groups["general"].callback_requests
    assert per_day is not None
    opening = at("2026-12-02T07:00")
    filler = request(1.0, opening.timestamp())
    for n in range(per_day.per_day):
        await daemon.callbacks.book_request(filler, f"+4670100{n:04d}", per_day=per_day.per_day,
                                            day=opening_day(opening))
    phone = await call_main_number(daemon, TO_OFFER + "1" + "--1")
    assert phone.played[-1] == "ivr/sv/callback-limit"
    assert phone.set_by_route["IVR_RESULT"] == "hangup"
    assert len(await open_requests(daemon)) == per_day.per_day


async def test_star_books_nothing_and_says_so(daemon: Daemon) -> None:
    phone = await call_main_number(daemon, TO_OFFER + "1" + "--*")
    assert phone.played[-1] == "ivr/sv/callback-not-booked"
    assert await open_requests(daemon) == []


# --- records and the report ----------------------------------------------------------------------------

def test_a_request_is_its_own_outcome_in_records_and_the_report() -> None:
    booked = CallRecord("a", started=0.0, ended=30.0, menu_outcome="callback", reason="callback_request")
    booked.callback_request = True
    declined = CallRecord("b", started=0.0, ended=30.0, menu_outcome="callback", reason="callback_request")
    assert (booked.outcome, declined.outcome) == ("callback_request", "message")
    calls = [to_call({"started": 0.0, "outcome": record.outcome, "enqueued_at": None, "wait_s": None,
                      "abandoned_after_s": None, "talk_s": None, "wrapup_s": None, "queue": None,
                      "department": None, "service": None, "language": "sv"}, ZONE)
             for record in (booked, declined)]
    figures = stats("all", calls, all_calls=2, sl_target_s=60, short_abandon_s=5)
    # Counted apart, and not as offered to a queue: the service level is about waiting callers.
    assert (figures.calls, figures.offered, figures.callback_requests) == (2, 0, 1)
    report = build_report(calls, Period(dt.date(1970, 1, 1), dt.date(1970, 1, 1), ZONE))
    assert "callback requests left for the next opening 1" in as_table(report)
    assert as_csv(report).splitlines()[0].endswith(",callback_requests")
