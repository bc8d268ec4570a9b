"""`ivr call`: be the caller. The menu runs in the daemon's interpreter; prompts are printed, you type keys."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ivr.cli.common import load_or_print, parse_moment, plan_or_print
from ivr.engine.interpreter import CallResult, run_call
from ivr.engine.terminal import TerminalChannel, find_player
from ivr.engine.trace import TraceStep


def register(sub: Any) -> None:
    parser = sub.add_parser("call", help="call the menu from the terminal: read the prompts, type the keys")
    parser.add_argument("--config", nargs="*", default=["."], help="config files or folders")
    parser.add_argument("--number", default=None, help="the dialled number (default: the main number)")
    parser.add_argument("--at", default=None, help="local date and time, e.g. 2026-12-22T10:00 (default: now)")
    parser.add_argument("--play", action="store_true", help="also play the rendered audio (needs a sound device)")
    parser.add_argument("--prompts-dir", type=Path, default=Path("build/prompts"),
                        help="rendered prompts for --play (default: build/prompts)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_print(args.config)
    if config is None:
        return 1
    number = args.number or config.rules.main_number
    plan = plan_or_print(config, number)
    if plan is None:
        return 2
    now = parse_moment(args.at, config.zone)
    player = find_player() if args.play else None
    if args.play and player is None:
        print("(--play: no sound device or player found; printing the prompts only)")
    channel = TerminalChannel(plan, sys.stdin.readline, sys.stdout, sounds_dir=args.prompts_dir if player else None,
                              player=player, echo=not sys.stdin.isatty())
    print(f"calling {number} on {now:%A %Y-%m-%d %H:%M} ({plan.name})")
    try:
        result = asyncio.run(run_call(config, plan, channel, now=now, on_step=_show_step))
    except KeyboardInterrupt:
        print("\n(you hung up)")
        return 0
    print_outcome(result)
    return 0


def _show_step(step: TraceStep) -> None:
    print(f"→ {step.node} [{step.kind}]", flush=True)


def print_outcome(result: CallResult) -> None:
    data = result.as_dict()
    if data["outcome"] == "queue":
        where = f"queue {data['queue']} (group {data['group']}, priority {data['priority']})"
    elif data["outcome"] == "transfer":
        where = f"transfer to {data['target']}"
    else:
        where = f"{data['outcome']} ({data['reason']})" if data["reason"] else data["outcome"]
    print(f"outcome: {where}")
    print(f"language {data['language']}; tags {data['tags']}; path {' → '.join(data['nodes'])}")
