"""Opening hours of the shipped `contact_center` schedule at fixed moments (Europe/Stockholm)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ivr.config import ConfigSet
from ivr.config.model import Schedule
from ivr.opening_hours import OpeningState, opening_state, swedish_days

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UTC = dt.UTC


@pytest.fixture(scope="module")
def contact_center(shipped_config: ConfigSet) -> Schedule:
    return shipped_config.rules.schedules["contact_center"]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def state(schedule: Schedule, text: str) -> OpeningState:
    return opening_state(schedule, at(text))


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-12-22T06:59", False),
        ("2026-12-22T07:00", True),
        ("2026-12-22T10:00", True),
        ("2026-12-22T17:59", True),
        ("2026-12-22T18:00", False),
        ("2026-12-22T23:59", False),
        ("2026-12-21T07:00", True),  # Monday
        ("2026-12-18T17:59", True),  # Friday
    ],
)
def test_weekday_hours(contact_center: Schedule, moment: str, is_open: bool) -> None:
    result = state(contact_center, moment)
    assert result.is_open is is_open
    assert result.holiday is False
    assert result.reason == "weekly hours 07:00-18:00"


@pytest.mark.parametrize("moment", ["2026-12-19T10:00", "2026-12-20T10:00"], ids=["saturday", "sunday"])
def test_weekend_is_closed_but_not_a_holiday(contact_center: Schedule, moment: str) -> None:
    result = state(contact_center, moment)
    assert result.is_open is False
    assert result.holiday is False
    assert result.reason in ("closed on sat", "closed on sun")


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        ("2026-12-24T10:00", "eve: Julafton"),
        ("2026-06-19T10:00", "eve: Midsommarafton"),
        ("2026-12-31T10:00", "eve: Nyårsafton"),
        ("2026-12-25T10:00", "public holiday: Juldagen"),
        ("2026-12-26T10:00", "public holiday: Annandag jul"),
        ("2026-01-06T10:00", "public holiday: Trettondedag jul"),
        ("2026-04-03T10:00", "public holiday: Långfredagen"),
        ("2026-05-01T10:00", "public holiday: Första maj"),
        ("2026-06-06T10:00", "public holiday: Nationaldagen"),
    ],
)
def test_holidays_and_eves_are_closed_with_the_holiday_flag(contact_center: Schedule, moment: str,
                                                            reason: str) -> None:
    result = state(contact_center, moment)
    assert result.is_open is False
    assert result.holiday is True
    assert result.reason == reason


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [("2026-12-23T06:59", False), ("2026-12-23T07:00", True), ("2026-12-23T13:00", True),
     ("2026-12-23T13:59", True), ("2026-12-23T14:00", False), ("2026-12-23T15:00", False)],
)
def test_day_before_julafton_closes_at_14(contact_center: Schedule, moment: str, is_open: bool) -> None:
    result = state(contact_center, moment)
    assert result.is_open is is_open
    assert result.holiday is False
    assert result.reason == "shortened day (Dag före Julafton (från kl. 14.00)): 07:00-14:00"


@pytest.mark.parametrize("day", ["2026-04-02", "2026-04-30", "2026-06-18", "2026-12-30"],
                         ids=["skärtorsdagen", "valborg", "before-midsommar", "before-nyårsafton"])
def test_other_days_before_holidays_close_at_14(contact_center: Schedule, day: str) -> None:
    assert state(contact_center, f"{day}T13:00").is_open is True
    assert state(contact_center, f"{day}T14:30").is_open is False
    assert state(contact_center, f"{day}T14:30").reason.startswith("shortened day")


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [("2026-12-28T07:30", False), ("2026-12-28T08:00", True), ("2026-12-28T15:59", True),
     ("2026-12-28T16:00", False)],
)
def test_exception_with_special_hours(contact_center: Schedule, moment: str, is_open: bool) -> None:
    result = state(contact_center, moment)
    assert result.is_open is is_open
    assert result.reason == "special hours 08:00-16:00 on 2026-12-28 (reduced staffing between the holidays)"


def test_exception_closed_day(contact_center: Schedule) -> None:
    result = state(contact_center, "2027-01-07T10:00")
    assert result.is_open is False
    assert result.holiday is False
    assert result.reason == "closed by exception on 2027-01-07 (staff training day)"
    # The day after is an ordinary Friday again.
    assert state(contact_center, "2027-01-08T10:00").is_open is True


def test_utc_moment_after_the_dst_change(contact_center: Schedule) -> None:
    # Summer time starts 2026-03-29: on Monday 2026-03-30, 05:30 UTC is 07:30 in Stockholm.
    result = opening_state(contact_center, dt.datetime(2026, 3, 30, 5, 30, tzinfo=UTC))
    assert result.is_open is True
    assert opening_state(contact_center, dt.datetime(2026, 3, 30, 4, 59, tzinfo=UTC)).is_open is False
    assert opening_state(contact_center, dt.datetime(2026, 3, 30, 5, 0, tzinfo=UTC)).is_open is True


def test_utc_moment_before_the_dst_change(contact_center: Schedule) -> None:
    # On Friday 2026-03-27 (still winter time) 05:30 UTC is 06:30 in Stockholm: not yet open.
    assert opening_state(contact_center, dt.datetime(2026, 3, 27, 5, 30, tzinfo=UTC)).is_open is False
    assert opening_state(contact_center, dt.datetime(2026, 3, 27, 6, 0, tzinfo=UTC)).is_open is True
    # ... and 16:59 UTC is 17:59 local, 17:00 UTC is 18:00 local.
    assert opening_state(contact_center, dt.datetime(2026, 3, 27, 16, 59, tzinfo=UTC)).is_open is True
    assert opening_state(contact_center, dt.datetime(2026, 3, 27, 17, 0, tzinfo=UTC)).is_open is False


def test_utc_moment_after_the_autumn_change(contact_center: Schedule) -> None:
    # Winter time from 2026-10-25: on Monday 2026-10-26, 06:00 UTC is 07:00 in Stockholm.
    assert opening_state(contact_center, dt.datetime(2026, 10, 26, 5, 59, tzinfo=UTC)).is_open is False
    assert opening_state(contact_center, dt.datetime(2026, 10, 26, 6, 0, tzinfo=UTC)).is_open is True


def test_utc_moment_that_is_another_day_in_stockholm(contact_center: Schedule) -> None:
    # 2026-12-23 23:30 UTC is already julafton in Stockholm.
    result = opening_state(contact_center, dt.datetime(2026, 12, 23, 23, 30, tzinfo=UTC))
    assert result.holiday is True
    assert result.reason == "eve: Julafton"


def test_naive_moment_is_read_in_the_schedule_zone(contact_center: Schedule) -> None:
    assert opening_state(contact_center, dt.datetime(2026, 12, 22, 7, 0)).is_open is True
    assert opening_state(contact_center, dt.datetime(2026, 12, 22, 6, 59)).is_open is False


def test_schedule_that_keeps_holidays_and_eves_open() -> None:
    schedule = Schedule.model_validate({
        "weekly": {day: ["09:00-12:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        "public_holidays": "open",
        "eves": "open",
    })
    julafton = opening_state(schedule, at("2026-12-24T10:00"))
    assert julafton.is_open is True
    assert julafton.reason == "weekly hours 09:00-12:00"
    # Without day_before_holiday, the day before julafton keeps its weekly hours.
    assert opening_state(schedule, at("2026-12-23T11:30")).is_open is True
    assert opening_state(schedule, at("2026-12-25T10:00")).is_open is True  # juldagen, a Friday


def test_several_spans_a_day() -> None:
    schedule = Schedule.model_validate({"weekly": {"tue": ["08:00-12:00", "13:00-16:00"]}})
    assert [opening_state(schedule, at(f"2026-12-22T{t}")).is_open for t in ("11:59", "12:00", "12:59", "13:00")] \
        == [True, False, False, True]


def test_span_to_midnight() -> None:
    schedule = Schedule.model_validate({"weekly": {"tue": ["20:00-24:00"]}})
    assert opening_state(schedule, at("2026-12-22T23:59")).is_open is True
    assert opening_state(schedule, at("2026-12-23T00:00")).is_open is False


def test_swedish_days_2026() -> None:
    days = swedish_days(2026)
    assert set(days.eves) == {dt.date(2026, 6, 19), dt.date(2026, 12, 24), dt.date(2026, 12, 31)}
    assert dt.date(2026, 12, 25) in days.public
    assert dt.date(2026, 6, 20) in days.public  # midsommardagen
    assert dt.date(2026, 12, 23) in days.shortened
    assert dt.date(2026, 12, 24) not in days.shortened  # an eve, not a shortened day
    assert not set(days.shortened) & set(days.public)
