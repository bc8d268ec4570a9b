"""`ivr switch close|open|status`: the emergency switch — the whole line or one group closed at once with a
recorded message; the dialplan obeys it even when the daemon is down (docs/steering.md)."""

from __future__ import annotations

import argparse
from typing import Any

from ivr.cli.common import load_or_print
from ivr.cli.steer_common import (
    add_common,
    add_request,
    add_who,
    apply_request,
    clear_request,
    print_entries,
    run_async,
)


def register(sub: Any) -> None:
    parser = sub.add_parser("switch", help="close the line or a group at once, with a message (supervisors)")
    actions = parser.add_subparsers(dest="action", required=True)
    close = actions.add_parser("close", help="callers hear the message and the call ends")
    add_common(close)
    add_who(close)
    add_request(close)
    close.set_defaults(func=lambda args: run_async(args, lambda a, c: apply_request(a, c, "switch")))
    reopen = actions.add_parser("open", help="callers reach the menu again")
    add_common(reopen)
    add_who(reopen)
    reopen.set_defaults(func=lambda args: run_async(args, lambda a, c: clear_request(a, c, "switch")))
    status = actions.add_parser("status", help="what is closed now")
    add_common(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)


def run_status(args: argparse.Namespace) -> int:
    config = load_or_print(args.config)
    if config is None:
        return 1
    return print_entries(args, config, "switch")
