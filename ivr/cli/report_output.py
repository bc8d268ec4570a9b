"""What every kind of `ivr report` shares: the records database to read and where the output goes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def default_url() -> str:
    from ivr.settings import Settings

    return Settings().store_url


def open_records(args: argparse.Namespace) -> Any:
    """The records database, or None after saying why not."""
    from ivr.store.db import open_database

    try:
        return open_database(args.db or default_url())
    except Exception as exc:
        print(f"cannot open the records database: {exc}", file=sys.stderr)
        return None


def deliver(args: argparse.Namespace, text: str, drawing: Callable[[Path], list[Path]]) -> int:
    """Write the table/CSV/JSON (to -o or stdout), then, with --charts, draw the charts into that folder."""
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if not args.charts:
        return 0
    try:
        files = drawing(args.charts)
    except RuntimeError as exc:  # no matplotlib
        print(exc, file=sys.stderr)
        return 1
    print(f"charts: {', '.join(str(f) for f in files)}", file=sys.stderr)
    return 0
