"""What several sub-commands share: loading the config with its problems printed, finding a plan,
reading a --at moment."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ivr.config import ConfigError, ConfigSet
from ivr.config.plan import Plan
from ivr.validate import load_config


def load_or_print(paths: Sequence[str | Path], *, stream: TextIO | None = None) -> ConfigSet | None:
    """The config, or None after printing one `file:line:column: ...` line per problem."""
    try:
        return load_config(paths)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format(), file=stream or sys.stdout)
        return None


def plan_or_print(config: ConfigSet, number: str) -> Plan | None:
    plan = config.plan_for_number(number)
    if plan is None:
        print(f"no plan answers {number}; plans answer: "
              + ", ".join(n for p in config.plans.values() for n in p.numbers))
    return plan


def parse_moment(text: str | None, zone: dt.tzinfo) -> dt.datetime:
    """`--at 2026-12-24T10:00` in the city's time zone (or with its own offset); now when not given."""
    if not text:
        return dt.datetime.now(zone)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
