"""`ivr kamailio generate`: Kamailio's dispatcher list and cluster settings from the YAML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ivr.config import ConfigError
from ivr.validate import load_config


def register(sub: Any) -> None:
    parser = sub.add_parser("kamailio", help="generate the SIP edge's node list (docs/cluster.md)")
    actions = parser.add_subparsers(dest="action", required=True)
    gen = actions.add_parser("generate", help="write dispatcher.list and cluster.cfg from routing_rules.yaml cluster:")
    gen.add_argument("--config", nargs="*", default=["."])
    gen.add_argument("--out", type=Path, default=Path("kamailio"), help="default: kamailio/ (next to kamailio.cfg)")
    gen.add_argument("--check", action="store_true", help="write nothing; fail when the files are out of date")
    gen.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from ivr.kamailio_gen import generate

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 1
    cluster = config.rules.cluster
    if cluster is None:
        print("routing_rules.yaml has no `cluster:` (docs/cluster.md): nothing to generate", file=sys.stderr)
        return 1
    files = generate(cluster, args.out)
    if args.check:
        stale = [name for name, text in files.items()
                 if not (args.out / name).is_file() or (args.out / name).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"{args.out / name} is out of date; run `ivr kamailio generate`", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = args.out / name
        partial = path.with_name(path.name + ".tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # Kamailio never reads a half-written list
        print(f"wrote {path}")
    return 0
