"""`ivr prompts build`: render prompts without recordings to Asterisk-ready audio."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ivr.cli.common import load_or_print


def register(sub: Any) -> None:
    parser = sub.add_parser("prompts", help="render prompt audio with espeak-ng and sox")
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="render prompts whose text changed")
    build.add_argument("--config", nargs="*", default=["."])
    build.add_argument("--out", default="build/prompts", help="a folder laid out like Asterisk's sounds/")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from ivr.prompts.render import build_prompts

    config = load_or_print(args.config)
    if config is None:
        return 1
    report = build_prompts(config, Path(args.out))
    print(f"prompts: {len(report.rendered)} rendered, {len(report.unchanged)} unchanged, "
          f"{len(report.removed)} removed ({args.out})")
    return 0
