"""`ivr diff OLD NEW` or `ivr diff --git REV [PATH ...]`: what changed, in nodes, keys, hours, groups, prompts.

Exit status as diff(1): 0 no changes, 1 changes, 2 trouble.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ivr.config.diff import Snapshot, diff, summarize
from ivr.validate import parse_paths


def register(sub: Any) -> None:
    parser = sub.add_parser("diff", help="compare two configs (folders or plan files), or the tree with a git revision")
    parser.add_argument("paths", nargs="*", type=Path,
                        help="OLD NEW; with --git, the config folders or files to compare (default: .)")
    parser.add_argument("--git", metavar="REV", default=None,
                        help="compare the working tree against this git revision (e.g. HEAD, main~3)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.git:
        with tempfile.TemporaryDirectory(prefix="ivr-diff-") as tmp:
            try:
                old_paths = checkout(args.git, args.paths or [Path(".")], Path(tmp))
            except RuntimeError as exc:
                print(exc, file=sys.stderr)
                return 2
            return compare(old_paths, args.paths or [Path(".")])
    if len(args.paths) != 2:
        print("give OLD and NEW (two config folders or two plan files), or --git REV", file=sys.stderr)
        return 2
    return compare([args.paths[0]], [args.paths[1]])


def compare(old_paths: list[Path], new_paths: list[Path]) -> int:
    old, old_problems = Snapshot.parsed(parse_paths(old_paths))
    new, new_problems = Snapshot.parsed(parse_paths(new_paths))
    if old_problems or new_problems:
        for problem in [*old_problems, *new_problems]:
            print(problem.format(), file=sys.stderr)
        print("cannot compare files that do not parse; fix them first (`ivr check`)", file=sys.stderr)
        return 2
    changes = diff(old, new)
    for change in changes:
        print(change.text)
    print(summarize(changes))
    return 1 if changes else 0


def checkout(rev: str, paths: list[Path], into: Path) -> list[Path]:
    """Extract `paths` as they are at `rev` into `into`; return where each one landed."""
    top = _git(["rev-parse", "--show-toplevel"], Path.cwd()).decode().strip()
    relative = [str(path.resolve().relative_to(top)) if path.resolve() != Path(top) else "." for path in paths]
    archive = _git(["archive", "--format=tar", rev, "--", *relative], Path(top))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return [into / rel for rel in relative]


def _git(arguments: list[str], cwd: Path) -> bytes:
    result = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"git {arguments[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout
