"""`ivr api-token create|list|revoke`: tokens for other city systems to read the desktop's API
(`Authorization: Bearer <token>`) within their scopes. The token is printed once, at creation; only
its SHA-256 is kept (records database)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

from ivr.desktop.store import create_token, list_tokens, revoke_token
from ivr.desktop.users import TOKEN_SCOPES
from ivr.settings import Settings
from ivr.store.db import open_database


def register(sub: Any) -> None:
    parser = sub.add_parser("api-token", help="create, list or revoke API tokens for other city systems")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new token, printed once")
    create.add_argument("name", help="who uses it, e.g. service-board")
    create.add_argument("--scope", action="append", required=True, choices=sorted(TOKEN_SCOPES),
                        help="repeat for several scopes")
    create.add_argument("--days", type=float, default=None, help="valid this many days (default: until revoked)")
    actions.add_parser("list", help="names, scopes, expiry; never the tokens")
    revoke = actions.add_parser("revoke", help="stop a token working at once")
    revoke.add_argument("name")
    parser.set_defaults(func=run)


def _when(epoch: float | None) -> str:
    return dt.datetime.fromtimestamp(epoch).isoformat(timespec="minutes") if epoch else "-"


def run(args: argparse.Namespace) -> int:
    db = open_database(Settings().store_url)
    now = time.time()
    try:
        if args.action == "create":
            try:
                token = create_token(db, args.name, frozenset(args.scope), now, args.days)
            except ValueError as exc:
                print(exc, file=sys.stderr)
                return 1
            print(token)
            print(f"(shown once) token '{args.name}': {' '.join(sorted(set(args.scope)))}", file=sys.stderr)
            return 0
        if args.action == "list":
            for known in list_tokens(db):
                status = "revoked" if known.revoked_at else "expired" if known.expires_at and known.expires_at <= now \
                    else "active"
                print(f"{known.name:<24} {status:<8} {' '.join(sorted(known.scopes)):<36} "
                      f"created {_when(known.created_at)}  expires {_when(known.expires_at)}")
            return 0
        if not revoke_token(db, args.name, now):
            print(f"no active token named '{args.name}'", file=sys.stderr)
            return 1
        print(f"revoked {args.name}")
        return 0
    finally:
        db.close()
