"""The `ivr` command: one module per sub-command, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Sub-command modules, in the order `ivr --help` lists them.
COMMANDS = (
    "check",
    "simulate",
    "run",
    "prompts",
    "graph",
    "schema",
    "diff",
    "reload",
    "call",
    "report",
    "contacts",
    "asterisk",
    "kamailio",
    "agents",
    "api_token",
    "queues",
    "cluster",

)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description="Malmö contact-center IVR engine for Asterisk")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"ivr.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def entry() -> None:
    sys.exit(main())
