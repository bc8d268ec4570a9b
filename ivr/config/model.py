"""Typed, frozen models of the YAML formats (except node kinds, which live in `ivr.nodes`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]

_SPAN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_span(text: str) -> str:
    match = _SPAN.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a time span like \"07:00-18:00\"")
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if end <= start or end > 24 * 60:
        raise ValueError(f"'{text}' ends before it starts")
    return text


TimeSpan = Annotated[str, AfterValidator(_check_span)]


def span_minutes(span: str) -> tuple[int, int]:
    start, end = span.split("-")
    return int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleException(Frozen):
    date: dt.date
    hours: tuple[TimeSpan, ...] = ()
    closed: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _hours_or_closed(self) -> ScheduleException:
        if self.closed == bool(self.hours):
            raise ValueError("give either `hours` or `closed: true`")
        return self


class Schedule(Frozen):
    """Opening hours: weekly spans, Swedish holidays and eves, and dated exceptions."""

    timezone: str = "Europe/Stockholm"
    weekly: dict[Weekday, tuple[TimeSpan, ...]] = Field(default_factory=dict)
    public_holidays: Literal["closed", "open"] = "closed"
    eves: Literal["closed", "open"] = "closed"
    # Days before a holiday that Swedish employers shorten ("from 2pm" in the holidays package).
    day_before_holiday: tuple[TimeSpan, ...] | None = None
    exceptions: tuple[ScheduleException, ...] = ()

    @model_validator(mode="after")
    def _known_zone(self) -> Schedule:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{self.timezone}'") from exc
        dates = [e.date for e in self.exceptions]
        if len(dates) != len(set(dates)):
            raise ValueError("two exceptions for the same date")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Prompt(Frozen):
    """Something the caller hears: text per language, and optionally a recording per language."""

    text: dict[Language, str] = Field(default_factory=dict)
    recording: dict[Language, str] = Field(default_factory=dict)


Strategy = Literal["ringall", "leastrecent", "fewestcalls", "rrmemory", "linear", "wrandom", "random"]


class AgentGroup(Frozen):
    """A group of agents served by one Asterisk queue."""

    queue: QueueName
    description: str = ""
    strategy: Strategy = "rrmemory"
    ring_timeout: int = Field(15, ge=5, le=120)
    wrapup: int = Field(10, ge=0, le=600)
    max_wait: int = Field(900, ge=30, le=7200)
    weight: int = Field(0, ge=0, le=100)
    department: str = ""


class Agent(Frozen):
    name: str
    extension: Extension
    groups: tuple[Identifier, ...] = ()
    skills: tuple[str, ...] = ()
    penalty: int = Field(0, ge=0, le=10)


class RoutingRules(Frozen):
    site: Identifier = "malmo"
    main_number: E164
    default_group: Identifier
    schedules: dict[Identifier, Schedule] = Field(default_factory=dict)
    system_prompts: dict[Identifier, Prompt] = Field(default_factory=dict)
    languages: tuple[Language, ...] = ("sv", "en", "ar")


class GroupsFile(Frozen):
    groups: dict[Identifier, AgentGroup] = Field(default_factory=dict)
    agents: dict[Identifier, Agent] = Field(default_factory=dict)
