"""`ivr schema [--out schemas/] [--check]`: write the JSON Schemas editors use to check the YAML files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("schema", help="write JSON Schemas of the plan, routing rules and agents files")
    parser.add_argument("--out", type=Path, default=Path("schemas"), help="folder (default: schemas/)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail when the files in --out differ from the models")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ivr.schema import all_schemas, schema_text, write_schemas

    if args.check:
        stale = [name for name, schema in all_schemas().items()
                 if not (args.out / name).is_file()
                 or (args.out / name).read_text(encoding="utf-8") != schema_text(schema)]
        for name in stale:
            print(f"{args.out / name} is out of date; run `ivr schema --out {args.out}`", file=sys.stderr)
        return 1 if stale else 0
    for path in write_schemas(args.out):
        print(f"wrote {path}")
    return 0
