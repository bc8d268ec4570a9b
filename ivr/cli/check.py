"""`ivr check [PATH ...]`: validate the configuration; one `file:line:column: message` line per problem."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ivr.config import ConfigError
from ivr.validate import load_config


def register(sub: Any) -> None:
    parser = sub.add_parser("check", help="validate dialplans/, routing_rules.yaml and agents/")
    parser.add_argument("paths", nargs="*", default=["."], help="files or folders (default: this folder)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.paths)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format())
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    nodes = sum(len(plan.nodes) for plan in config.plans.values())
    print(f"ok: {len(config.plans)} plan(s), {nodes} nodes, {len(config.groups)} groups, "
          f"{len(config.agents)} agents (version {config.version})")
    return 0
