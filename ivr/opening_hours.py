"""Is a schedule open at a given moment? Weekly hours, Swedish holidays and eves, dated exceptions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays

from ivr.config.model import WEEKDAYS, Schedule, span_minutes


@dataclass(frozen=True)
class OpeningState:
    is_open: bool
    reason: str
    holiday: bool = False  # closed because of a public holiday or an eve


@dataclass(frozen=True)
class SwedishDays:
    public: dict[dt.date, str]
    eves: dict[dt.date, str]  # julafton, midsommarafton, nyårsafton
    shortened: dict[dt.date, str]  # days before a holiday, "from 2pm"


@lru_cache(maxsize=16)
def swedish_days(year: int) -> SwedishDays:
    """Holidays from the `holidays` package (pure data; cached per year)."""

    def days(category: str) -> dict[dt.date, str]:
        found = holidays.country_holidays("SE", years=year, categories=(category,), language="sv",
                                          include_sundays=False)
        return dict(found.items())

    shortened = {d: name for d, name in days("bank").items() if "14" in name or "from 2pm" in name.lower()}
    return SwedishDays(public=days("public"), eves=days("de_facto"), shortened=shortened)


def _within(spans: tuple[str, ...], minute: int) -> bool:
    for span in spans:
        start, end = span_minutes(span)
        if start <= minute < end:
            return True
    return False


def _local(schedule: Schedule, moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(schedule.zone) if moment.tzinfo else moment.replace(tzinfo=schedule.zone)


def opening_state(schedule: Schedule, moment: dt.datetime) -> OpeningState:
    local = _local(schedule, moment)
    day = local.date()
    minute = local.hour * 60 + local.minute
    for exception in schedule.exceptions:
        if exception.date == day:
            note = f" ({exception.note})" if exception.note else ""
            if exception.closed:
                return OpeningState(False, f"closed by exception on {day}{note}")
            is_open = _within(exception.hours, minute)
            return OpeningState(is_open, f"special hours {', '.join(exception.hours)} on {day}{note}")
    calendar = swedish_days(day.year)
    if schedule.public_holidays == "closed" and day in calendar.public:
        return OpeningState(False, f"public holiday: {calendar.public[day]}", holiday=True)
    if schedule.eves == "closed" and day in calendar.eves:
        return OpeningState(False, f"eve: {calendar.eves[day]}", holiday=True)
    spans = schedule.weekly.get(WEEKDAYS[local.weekday()], ())
    if schedule.day_before_holiday is not None and day in calendar.shortened and spans:
        is_open = _within(schedule.day_before_holiday, minute)
        return OpeningState(is_open, f"shortened day ({calendar.shortened[day]}): "
                                     f"{', '.join(schedule.day_before_holiday)}")
    if not spans:
        return OpeningState(False, f"closed on {WEEKDAYS[local.weekday()]}")
    is_open = _within(spans, minute)
    return OpeningState(is_open, f"weekly hours {', '.join(spans)}")


def day_spans(schedule: Schedule, day: dt.date) -> tuple[str, ...]:
    """The spans a day is open, by the same precedence as `opening_state`: a dated exception, then
    public holidays and eves, then a shortened day before a holiday, then the weekly hours."""
    for exception in schedule.exceptions:
        if exception.date == day:
            return () if exception.closed else exception.hours
    calendar = swedish_days(day.year)
    if (schedule.public_holidays == "closed" and day in calendar.public) or \
            (schedule.eves == "closed" and day in calendar.eves):
        return ()
    spans = schedule.weekly.get(WEEKDAYS[day.weekday()], ())
    if schedule.day_before_holiday is not None and day in calendar.shortened and spans:
        return schedule.day_before_holiday
    return spans


# Far enough for any real schedule (a year of closed days is a configuration mistake, not a wait).
_LOOK_AHEAD_DAYS = 400


def next_opening(schedule: Schedule, moment: dt.datetime) -> dt.datetime | None:
    """The first moment at or after `moment` when the schedule is open (`moment` itself when it is
    open now), in the schedule's zone; None when it does not open within a year."""
    local = _local(schedule, moment)
    for offset in range(_LOOK_AHEAD_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        starts = []
        for span in day_spans(schedule, day):
            start, end = span_minutes(span)
            opens = _at_minute(schedule, day, start)
            closes = _at_minute(schedule, day, end)
            if closes <= local:
                continue
            starts.append(max(opens, local))
        if starts:
            return min(starts)
    return None


def _at_minute(schedule: Schedule, day: dt.date, minute: int) -> dt.datetime:
    """Wall-clock `minute` of `day` in the schedule's zone (24:00 is the next day's midnight)."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=schedule.zone)
    naive = midnight.replace(tzinfo=None) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=schedule.zone)
