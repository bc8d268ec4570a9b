"""What `ivr messages` and `ivr switch` share: the supervisor, the request, the AMI login that may write
AstDB (IVR_AMI_ADMIN_*: DBPut needs the `system` class the daemon's login lacks), the store."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from ivr.cli.common import load_or_print
from ivr.config import ConfigError, ConfigSet


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", nargs="*", default=["."], help="config files or folders")
    parser.add_argument("--db", default=None, help="the store (default IVR_DB_URL or sqlite:///var/ivr.db)")


def add_who(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--supervisor", required=True, help="your supervisor id (agents/*.yaml supervisors:)")
    parser.add_argument("--group", default=None, help="one agent group's callers only (default: the whole line)")


def add_request(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=None, help="a YAML file with text:/recording: (docs/steering.md)")
    parser.add_argument("--text", action="append", default=[], metavar="LANG=TEXT",
                        help="the message in one language, spoken by espeak-ng (repeat per language)")
    parser.add_argument("--recording", action="append", default=[], metavar="LANG=FILE",
                        help="a recording instead of text for one language")


def run_async(args: argparse.Namespace, body: Any) -> int:
    """Load the config, run `body(args, config)`; a problem is one line on stderr and exit 1 (2 for a bad
    request, printed as file:line:column)."""
    from ivr.steering.publish import SteeringError
    from ivr.steering.service import NotAllowed

    config = load_or_print(args.config, stream=sys.stderr)
    if config is None:
        return 1
    try:
        code: int = asyncio.run(body(args, config))
        return code
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 2
    except NotAllowed as exc:
        print(f"not allowed: {exc}", file=sys.stderr)
        return 2
    except (SteeringError, OSError, RuntimeError) as exc:
        print(f"{args.command} {args.action} failed, nothing changed for callers: {exc}", file=sys.stderr)
        return 1


def now(config: ConfigSet) -> dt.datetime:
    return dt.datetime.now(config.zone)


def actor_via(args: argparse.Namespace) -> tuple[str, str]:
    """Who (the supervisor id) and through what (the command line, as which system user)."""
    return args.supervisor, f"cli:{getpass.getuser()}"


def open_store(args: argparse.Namespace) -> Any:
    from ivr.settings import Settings
    from ivr.store.db import open_database

    return open_database(args.db or Settings().store_url)


def sound_place() -> Any:
    from ivr.settings import Settings
    from ivr.steering.publish import SoundPlace

    settings = Settings()
    return SoundPlace(settings.steer_sounds, settings.asterisk_root)


async def apply_request(args: argparse.Namespace, config: ConfigSet, kind: str) -> int:
    """`ivr messages set` and `ivr switch close`."""
    from ivr.cli.amiconn import cli_ami
    from ivr.settings import Settings
    from ivr.steering.service import authorise, set_entry
    from ivr.steering.spec import load_spec, spec_from_options

    moment = now(config)
    if args.file:
        spec = load_spec(Path(args.file), "switch" if kind == "switch" else "message", config, now=moment)
    else:
        spec = spec_from_options("switch" if kind == "switch" else "message", config, now=moment,
                                 group=args.group, starts=getattr(args, "start", None),
                                 ends=getattr(args, "until", None), texts=args.text, recordings=args.recording)
    authorise(config, args.supervisor, spec.group)
    actor, via = actor_via(args)
    db = open_store(args)
    try:
        async with cli_ami(Settings(), admin=True) as ami:
            entry = await set_entry(ami, db, config, spec, sound_place(), actor=actor, via=via, now=moment)
    finally:
        db.close()
    scope = f"group {spec.group} ({entry.queue})" if spec.group else "the whole line"
    if kind == "switch":
        print(f"closed: {scope}; callers hear the message in {', '.join(entry.languages)} and the call ends")
    else:
        assert spec.starts is not None and spec.ends is not None
        print(f"message for {scope}: {spec.starts:%Y-%m-%d %H:%M} – {spec.ends:%Y-%m-%d %H:%M} "
              f"in {', '.join(entry.languages)}")
    return 0


async def clear_request(args: argparse.Namespace, config: ConfigSet, kind: str) -> int:
    """`ivr messages clear` and `ivr switch open`."""
    from ivr.cli.amiconn import cli_ami
    from ivr.settings import Settings
    from ivr.steering.service import authorise, clear_entry

    if args.group is not None and args.group not in config.groups:
        print(f"unknown agent group '{args.group}' (known: {', '.join(config.groups)})", file=sys.stderr)
        return 2
    authorise(config, args.supervisor, args.group)
    actor, via = actor_via(args)
    db = open_store(args)
    try:
        async with cli_ami(Settings(), admin=True) as ami:
            was = await clear_entry(ami, db, config, "switch" if kind == "switch" else "message", args.group,
                                    actor=actor, via=via)
    finally:
        db.close()
    scope = f"group {args.group}" if args.group else "the whole line"
    verb = "opened" if kind == "switch" else "message cleared"
    print(f"{verb}: {scope}" + ("" if was else " (nothing was set)"))
    return 0


def print_entries(args: argparse.Namespace, config: ConfigSet, kind: str | None) -> int:
    from ivr.steering import store

    db = open_store(args)
    try:
        found = [item for item in store.entries(db) if kind is None or item.entry.kind == kind]
    finally:
        db.close()
    moment = now(config)
    rows: list[dict[str, Any]] = []
    for item in found:
        entry = item.entry
        state = ("closed" if entry.kind == "switch" else
                 "playing" if entry.active_at(moment) else "over" if entry.ends and moment.timestamp() >= entry.ends
                 else "waiting")
        rows.append({
            "kind": entry.kind, "scope": f"group:{item.group}" if item.group else "line", "state": state,
            "from": _local(entry.starts, config) if entry.starts else None,
            "until": _local(entry.ends, config) if entry.ends else None,
            "languages": list(entry.languages), "text": item.texts, "set_by": item.set_by,
            "set_at": _local(item.set_at, config),
        })
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    elif not rows:
        print("nothing set: callers hear the menu as it is")
    for row in rows if not args.json else []:
        window = f" {row['from']} – {row['until']}" if row["until"] else ""
        print(f"{row['kind']:<8} {row['scope']:<18} {row['state']:<8}{window}  ({', '.join(row['languages'])}; "
              f"set by {row['set_by']} {row['set_at']})")
        for language, text in row["text"].items():
            print(f"    {language}: {text}")
    return 0


def _local(epoch: float, config: ConfigSet) -> str:
    return dt.datetime.fromtimestamp(epoch, config.zone).isoformat(timespec="minutes")
