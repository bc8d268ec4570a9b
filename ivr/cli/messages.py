"""`ivr messages set|clear|list|audit`: a temporary message in front of the menu, for the whole line or one
group's callers, inside a window (docs/steering.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from ivr.cli.common import load_or_print
from ivr.cli.steer_common import (
    add_common,
    add_request,
    add_who,
    apply_request,
    clear_request,
    now,
    open_store,
    print_entries,
    run_async,
)


def register(sub: Any) -> None:
    parser = sub.add_parser("messages", help="temporary messages before the menu (supervisors)")
    actions = parser.add_subparsers(dest="action", required=True)
    put = actions.add_parser("set", help="play a message before the menu from --from until --until")
    add_common(put)
    add_who(put)
    add_request(put)
    put.add_argument("--from", dest="start", default=None, help="city time, e.g. 2026-11-30T17:00 (default: now)")
    put.add_argument("--until", default=None, help="city time, e.g. 2026-12-01T08:00")
    put.set_defaults(func=lambda args: run_async(args, lambda a, c: apply_request(a, c, "message")))
    clear = actions.add_parser("clear", help="stop a message now")
    add_common(clear)
    add_who(clear)
    clear.set_defaults(func=lambda args: run_async(args, lambda a, c: clear_request(a, c, "message")))
    listing = actions.add_parser("list", help="the messages and switches set now")
    add_common(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    audit = actions.add_parser("audit", help="who changed messages and switches, and when")
    add_common(audit)
    audit.add_argument("--days", type=float, default=30.0, help="how far back (default 30)")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(func=run_audit)


def run_list(args: argparse.Namespace) -> int:
    config = load_or_print(args.config)
    return 1 if config is None else print_entries(args, config, None)


def run_audit(args: argparse.Namespace) -> int:
    from ivr.steering import store

    config = load_or_print(args.config)
    if config is None:
        return 1
    since = (now(config) - dt.timedelta(days=args.days)).timestamp()
    db = open_store(args)
    try:
        rows = store.audit_rows(db, since=since)
    finally:
        db.close()
    if args.json:
        print(json.dumps([vars(row) for row in rows], ensure_ascii=False, indent=1))
        return 0
    for row in rows:
        when = dt.datetime.fromtimestamp(row.at, config.zone).isoformat(timespec="seconds")
        print(f"{when}  {row.actor:<16} {row.via:<14} {row.action:<14} {row.target:<18} "
              f"{json.dumps(row.detail, ensure_ascii=False, sort_keys=True)}")
    if not rows:
        print(f"no changes in the last {args.days:g} days")
    return 0
