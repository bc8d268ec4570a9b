"""`ivr run`: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ivr.config import ConfigError
from ivr.logs import configure_logging
from ivr.settings import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("run", help="run the FastAGI/AMI daemon")
    parser.add_argument("--config", nargs="*", default=["."], help="config files or folders")
    parser.add_argument("--agi-host", default=None)
    parser.add_argument("--agi-port", type=int, default=None)
    parser.add_argument("--state-dir", default=None, help="where keys, spools and the pid file live (default var/)")
    parser.add_argument("--allow-test-clock", action="store_true",
                        help="tests only: let a call set IVR_TEST_NOW to choose the time it is evaluated at, and the "
                             "callback scheduler run from the time in <state dir>/test-clock")
    parser.add_argument("--log-level", default=None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ivr.daemon import serve

    try:
        settings = Settings(config_paths=args.config, allow_test_clock=args.allow_test_clock)
    except (OSError, RuntimeError, ValueError) as exc:  # a secret file readable by others, a bad number...
        print(f"ivr run: cannot read the settings: {exc}", file=sys.stderr)
        return 2
    if args.agi_host:
        settings.agi_host = args.agi_host
    if args.agi_port is not None:
        settings.agi_port = args.agi_port
    if args.state_dir:
        settings.state_dir = Path(args.state_dir)
    if args.log_level:
        settings.log_level = args.log_level
    refusal = preflight(settings)
    if refusal:
        print(f"ivr run: {refusal}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format())
        return 1
    return 0


def preflight(settings: Settings) -> str:
    """Why the daemon must not start with these settings ("" when it may): checked before it listens."""
    from ivr.agi.peers import PeerAllowlist, is_loopback_host
    from ivr.keys import callback_key, hash_key, recording_key

    try:
        allowlist = PeerAllowlist(settings.agi_allowed_peers)
    except ValueError as exc:
        return f"IVR_AGI_ALLOWED_PEERS: {exc}"
    if not is_loopback_host(settings.agi_host) and not allowlist:
        return (f"refusing to listen for FastAGI on {settings.agi_host}: any host that reaches it could run calls. "
                "A non-loopback address needs IVR_AGI_ALLOWED_PEERS (comma-separated addresses or networks "
                "of the Asterisk servers), e.g. IVR_AGI_ALLOWED_PEERS=10.1.2.3")
    for name, load in (("caller hash key", hash_key), ("callback key", callback_key),
                       ("recording key", recording_key)):
        try:
            load(settings.state_dir)
        except (OSError, RuntimeError, ValueError) as exc:
            return f"{name}: {exc}"
    return ""
