"""`ivr graph PLAN.yaml [-o out.svg] [--png out.png] [--dot out.dot]`: draw a plan with Graphviz."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ivr.config.problems import ConfigError


def register(sub: Any) -> None:
    parser = sub.add_parser("graph", help="draw a plan (nodes, keys, schedules, queues) with Graphviz")
    parser.add_argument("plan", type=Path, help="a plan file, e.g. dialplans/main.yaml")
    parser.add_argument("-o", "--out", type=Path, default=None, help="SVG file (default: build/graph/PLAN.svg)")
    parser.add_argument("--png", type=Path, default=None, help="also write a PNG")
    parser.add_argument("--dot", type=Path, default=None, help="also write the DOT text ('-' prints it)")
    parser.add_argument("--config", nargs="*", type=Path, default=None,
                        help="routing_rules.yaml and agents/ for schedules and queue names "
                             "(default: the config tree the plan is in)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ivr.graph import load_picture, plan_to_dot, render

    try:
        picture = load_picture(args.plan, args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 1
    dot_text = plan_to_dot(picture)
    if args.dot == Path("-"):
        sys.stdout.write(dot_text)
    elif args.dot:
        args.dot.parent.mkdir(parents=True, exist_ok=True)
        args.dot.write_text(dot_text, encoding="utf-8")
    out = args.out or Path("build/graph") / f"{args.plan.stem}.svg"
    try:
        render(dot_text, out, "svg")
        if args.png:
            render(dot_text, args.png, "png")
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    written = [str(out), *([str(args.png)] if args.png else [])]
    print(f"drew plan '{picture.name}': {len(picture.ids)} nodes, {len(picture.edges)} arrows → {', '.join(written)}",
          file=sys.stderr if args.dot == Path("-") else sys.stdout)
    problems = [p for found in picture.problems.values() for p in found] + picture.other_problems
    if problems:
        # The picture is drawn anyway (problem nodes in red) so the admin can see what is wrong.
        for problem in sorted(problems):
            print(problem.format(), file=sys.stderr)
        print(f"{len(problems)} problem(s); marked in red in the picture", file=sys.stderr)
    return 0
