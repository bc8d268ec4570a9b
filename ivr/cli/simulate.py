"""`ivr simulate`: run one call through the daemon's interpreter, without Asterisk."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from typing import Any

from ivr.config import ConfigError, load_config
from ivr.engine.interpreter import CallResult, run_call
from ivr.engine.simulated import ScriptedChannel, parse_keys


def register(sub: Any) -> None:
    parser = sub.add_parser("simulate", help="run one call through the menu without Asterisk")
    parser.add_argument("--config", nargs="*", default=["."], help="config files or folders")
    parser.add_argument("--number", default=None, help="the dialled number (default: the main number)")
    parser.add_argument("--caller", default="", help="the caller's number (never printed in clear)")
    parser.add_argument("--at", default=None, help="local date and time, e.g. 2026-12-24T10:00 (default: now)")
    parser.add_argument("--keys", default="", help="the caller's keys in order, e.g. 2,1 ('' = silence, "
                        "'1234#' several at once, 'hangup')")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def parse_moment(text: str | None, zone: dt.tzinfo) -> dt.datetime:
    if not text:
        return dt.datetime.now(zone)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format())
        return 1
    number = args.number or config.rules.main_number
    plan = config.plan_for_number(number)
    if plan is None:
        print(f"no plan answers {number}; plans answer: "
              + ", ".join(n for p in config.plans.values() for n in p.numbers))
        return 2
    zone = next(iter(config.rules.schedules.values())).zone if config.rules.schedules else dt.UTC
    channel = ScriptedChannel(parse_keys(args.keys))
    result = asyncio.run(run_call(config, plan, channel, now=parse_moment(args.at, zone)))
    if args.json:
        payload = result.as_dict()
        payload["unused_keys"] = channel.unused_keys
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print_path(result)
        if channel.unused_keys:
            print(f"(keys not used: {','.join(channel.unused_keys)})")
    return 0


def print_path(result: CallResult) -> None:
    for step in result.steps:
        print(f"→ {step.node} [{step.kind}]")
        for played in step.played:
            print(f"    plays '{played.prompt}' in {played.language} ({played.sound})")
        if step.keys:
            print(f"    keys: {step.keys}")
        for note in step.notes:
            print(f"    {note}")
    data: dict[str, Any] = result.as_dict()
    where = data["queue"] or data["target"] or data["reason"]
    print(f"outcome: {data['outcome']} ({where}); language {data['language']}; tags {data['tags']}")
