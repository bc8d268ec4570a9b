"""`ivr queues [--json]`: waiting calls, longest wait and agents by state, read from Asterisk over AMI
(QueueStatus) - the same picture the daemon keeps, without needing the daemon."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ivr.cli.common import load_or_print


def register(sub: Any) -> None:
    parser = sub.add_parser("queues", help="show waiting calls and agents per queue (live, over AMI)")
    parser.add_argument("--config", nargs="*", default=["."])
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ivr.cli.amiconn import cli_ami
    from ivr.live.status import fetch_view, queue_rows
    from ivr.queues.membership import all_queues
    from ivr.settings import Settings

    config = load_or_print(args.config, stream=sys.stderr)
    if config is None:
        return 1

    async def fetch() -> list[dict[str, Any]]:
        async with cli_ami(Settings()) as ami:
            view = await fetch_view(ami)
        names = list(all_queues(config)) + sorted(set(view.queues) - set(all_queues(config)))
        return queue_rows(view, names)

    try:
        rows = asyncio.run(fetch())
    except Exception as exc:
        print(f"cannot read the queues from Asterisk: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'queue':<16} {'waiting':>7} {'longest':>8}  agents")
    for row in rows:
        agents = ", ".join(f"{count} {state}" for state, count in row["agents"].items() if count) or "none"
        missing = "" if row["known"] else "  (not in Asterisk: run `ivr asterisk generate` and reload)"
        print(f"{row['queue']:<16} {row['waiting']:>7} {_duration(row['longest_wait_s']):>8}  {agents}{missing}")
    return 0


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
