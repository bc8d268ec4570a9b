"""The configuration the benchmarks run the daemon on: the shipped one, open around the clock.

The shipped schedule closes the contact center at 18:00 and on holidays, and a benchmark run at night
must still walk the menu to a queue; only the schedule changes, the menu is the shipped main menu.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
ALWAYS = ["00:00-24:00"]


def always_open(rules: dict[str, Any]) -> dict[str, Any]:
    """The routing rules with every schedule open all day, every day, holidays included."""
    schedules = {}
    for name, schedule in (rules.get("schedules") or {}).items():
        schedules[name] = {
            "timezone": schedule.get("timezone", "Europe/Stockholm"),
            "weekly": {day: ALWAYS for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            "public_holidays": "open",
            "eves": "open",
        }
    return {**rules, "schedules": schedules}


def write_bench_config(dest: Path, source: Path = REPO) -> Path:
    """A config root in `dest`: the shipped dialplans/ and agents/, and the rules open around the clock."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(source / "dialplans", dest / "dialplans")
    shutil.copytree(source / "agents", dest / "agents")
    rules = yaml.safe_load((source / "routing_rules.yaml").read_text(encoding="utf-8"))
    (dest / "routing_rules.yaml").write_text(yaml.safe_dump(always_open(rules), allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
    return dest
