"""`ivr simulate`: run one call through the daemon's interpreter, without Asterisk."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ivr.cli.common import load_or_print, parse_moment, plan_or_print
from ivr.config import ConfigSet
from ivr.engine.interpreter import CallResult, run_call
from ivr.engine.simulated import ScriptedChannel, parse_keys
from ivr.steering.source import FixedSteering


def register(sub: Any) -> None:
    parser = sub.add_parser("simulate", help="run one call through the menu without Asterisk")
    parser.add_argument("--config", nargs="*", default=["."], help="config files or folders")
    parser.add_argument("--number", default=None, help="the dialled number (default: the main number)")
    parser.add_argument("--caller", default="", help="the caller's number (never printed in clear)")
    parser.add_argument("--at", default=None, help="local date and time, e.g. 2026-12-24T10:00 (default: now)")
    parser.add_argument("--keys", default="", help="the caller's keys in order, e.g. 2,1 ('' = silence, "
                        "'1234#' several at once, 'hangup')")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # The supervisors' switches and temporary messages as `ivr messages`/`ivr switch` stored them.
    parser.add_argument("--db", default=None, help="the store with the steering (default IVR_DB_URL or var/ivr.db)")
    parser.add_argument("--no-steering", action="store_true", help="ignore switches and temporary messages")
    # An outbound call instead: what the citizen would see (docs/privacy-and-caller-id.md).
    parser.add_argument("--outbound", action="store_true", help="show the caller-ID decision for an outbound call")
    parser.add_argument("--from-extension", default="", help="with --outbound: the official's or agent's extension")
    parser.add_argument("--to", default="", help="with --outbound: the number dialled (may start with *8<code>)")
    parser.add_argument("--purpose", default="", help="with --outbound: a purpose id, e.g. callback")
    parser.set_defaults(func=run)




def run(args: argparse.Namespace) -> int:
    config = load_or_print(args.config)
    if config is None:
        return 1
    if args.outbound:
        return run_outbound(config, args)
    number = args.number or config.rules.main_number
    plan = plan_or_print(config, number)
    if plan is None:
        return 2
    zone = config.zone
    channel = ScriptedChannel(parse_keys(args.keys))
    steering = None if args.no_steering else stored_steering(args.db)
    result = asyncio.run(run_call(config, plan, channel, now=parse_moment(args.at, zone), steering=steering))
    if args.json:
        payload = result.as_dict()
        payload["unused_keys"] = channel.unused_keys
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print_path(result)
        if channel.unused_keys:
            print(f"(keys not used: {','.join(channel.unused_keys)})")
    return 0


def stored_steering(url: str | None) -> FixedSteering | None:
    """The steering in the store (what `ivr messages list` shows); none when there is no store yet (a
    simulation never creates one)."""
    from ivr.settings import Settings
    from ivr.steering import store
    from ivr.store.db import open_database

    url = url or Settings().store_url
    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///").removeprefix("sqlite://")).exists():
        return None
    try:
        db = open_database(url, migrate=False)  # a simulation never changes the store
        try:
            return FixedSteering(item.entry for item in store.entries(db))
        finally:
            db.close()
    except Exception as exc:  # no steering table yet (an older store), or the store is down
        print(f"(steering not read from the store: {exc})", file=sys.stderr)
        return None


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


def run_outbound(config: ConfigSet, args: argparse.Namespace) -> int:
    from ivr.callerid.explain import explain_outbound, format_explanation

    try:
        found = explain_outbound(config, extension=args.from_extension, dialled=args.to, purpose=args.purpose)
    except ValueError as exc:
        print(exc)
        return 2
    print(json.dumps(found, ensure_ascii=False, indent=2) if args.json else "\n".join(format_explanation(found)))
    return 0
