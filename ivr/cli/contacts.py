"""`ivr contacts purge|stats [--db URL] [--config PATH ...] [--json]`: the contact registry for admins.

`purge` deletes what is past the retention (the daemon also does this every
`contact_registry.purge_every_minutes`); `stats` prints counts only, never a row about one citizen.
Both are written to the registry's audit table with the admin's user name.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("contacts", help="contact registry: purge expired entries, print counts")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, text in (("purge", "delete entries past the retention, and old audit rows"),
                       ("stats", "counts only: attempts by outcome and department, returns, lookups")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--db", default=None,
                            help="database (default: IVR_DB_URL, else sqlite:///<IVR_STATE_DIR>/ivr.db)")
        action.add_argument("--config", nargs="*", default=["."], help="config files or folders (for retention)")
        action.add_argument("--json", action="store_true", help="print one JSON object")
        action.set_defaults(func=run_purge if name == "purge" else run_stats)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


def _open(args: argparse.Namespace) -> Any:
    from ivr.cli.report_output import default_url
    from ivr.store.db import open_database

    return open_database(args.db or default_url())


def run_purge(args: argparse.Namespace) -> int:
    from ivr.config import ConfigError
    from ivr.contacts import store
    from ivr.validate import load_config

    try:
        settings = load_config(args.config).rules.contact_registry
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 1
    db = _open(args)
    try:
        now = time.time()
        attempts, audits = store.purge(db, now=now, retention_s=settings.retention_days * 86400,
                                       audit_before=now - settings.audit_retention_days * 86400, actor=_actor())
    finally:
        db.close()
    if args.json:
        print(json.dumps({"attempts_deleted": attempts, "audit_rows_deleted": audits}))
    else:
        print(f"purged {attempts} attempt(s) older than {settings.retention_days} days and {audits} audit row(s) "
              f"older than {settings.audit_retention_days} days")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from ivr.contacts import store

    db = _open(args)
    try:
        counts = store.stats(db, now=time.time(), actor=_actor())
    finally:
        db.close()
    if args.json:
        print(json.dumps(counts, indent=2, sort_keys=True))
        return 0
    print(f"attempts kept: {counts['attempts']} (oldest {counts['oldest_age_days'] or 0} days; "
          f"{counts['expired_not_purged']} expired, not purged yet)")
    for title, key in (("by outcome", "by_outcome"), ("by department", "by_department"),
                       ("citizens who called back", "returns"), ("audit log", "audit")):
        print(f"{title}:")
        for name, count in counts[key].items():
            print(f"  {name or '(none)'}: {count}")
    return 0
