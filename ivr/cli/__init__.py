"""The `ivr` command: one module per sub-command, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import os
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
    "recordings",
    "asterisk",
    "kamailio",
    "agents",
    "api_token",
    "queues",
    "cluster",
    "messages",
    "switch",

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


# What a shell reports for a command stopped by SIGPIPE (128 + 13): `ivr ... | head` is not an error
# of ours, but a script with `set -o pipefail` still learns that the output was cut short.
PIPE_CLOSED_EXIT = 141


def entry() -> None:
    code: int | str | None
    try:
        try:
            code = main()
        except SystemExit as exit_:  # argparse's --help and errors: their text is still in the buffer
            code = exit_.code
        sys.stdout.flush()  # a closed pipe surfaces here for output still in the buffer
    except BrokenPipeError:
        code = _quiet_after_closed_pipe()
    sys.exit(code)


def _quiet_after_closed_pipe() -> int:
    """The reader of our output went away (`| head`): no traceback, and no second BrokenPipeError
    when the interpreter flushes stdout at exit, so stdout is pointed at /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return PIPE_CLOSED_EXIT
