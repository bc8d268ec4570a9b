"""`ivr recordings list|export|delete`: the only way to recorded calls (docs/recordings.md).

Every use is written to the audit table `recording_audit` with the admin's user name, before anything is
shown or decrypted. `delete --caller NUMBER` (or `--caller -` to read it from stdin, out of the shell's
history) erases every recording of calls from that number through its keyed hash: the number is
neither stored nor logged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ivr.cli.contacts import _actor


def register(sub: Any) -> None:
    parser = sub.add_parser("recordings", help="recorded calls: list, export (decrypt), delete; audited")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the recordings kept (no audio, no number)")
    listing.add_argument("--group", default=None, help="only this agent group's")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    export = actions.add_parser("export", help="decrypt one recording into a WAV file (0600)")
    export.add_argument("recording_id")
    export.add_argument("--out", required=True, help="the WAV file to write")
    delete = actions.add_parser("delete", help="delete one recording, or every recording of a caller's number")
    which = delete.add_mutually_exclusive_group(required=True)
    which.add_argument("recording_id", nargs="?", default=None)
    which.add_argument("--caller", default=None, help="the citizen's number ('-': read it from stdin)")
    for action in (listing, export, delete):
        action.add_argument("--db", default=None,
                            help="database (default: IVR_DB_URL, else sqlite:///<IVR_STATE_DIR>/ivr.db)")
        action.add_argument("--state-dir", default=None, help="the daemon's state folder (default: IVR_STATE_DIR)")
    listing.set_defaults(func=run_list)
    export.set_defaults(func=run_export)
    delete.set_defaults(func=run_delete)


def _settings(args: argparse.Namespace) -> Any:
    from ivr.settings import Settings

    settings = Settings()
    if args.state_dir:
        settings.state_dir = Path(args.state_dir)
    return settings


def _open(args: argparse.Namespace, settings: Any) -> Any:
    from ivr.store.db import open_database

    return open_database(args.db or settings.store_url)


def _existing_key(settings: Any, name: str, env_var: str) -> None:
    """A key the daemon made must already be there: a new one would open nothing and erase nothing."""
    from ivr.keys import default_key_file

    if os.environ.get(env_var) or os.environ.get(f"{env_var}_FILE"):
        return
    path = default_key_file(settings.state_dir, name)
    if not path.exists():
        raise SystemExit(f"ivr recordings: no key at {path}; set {env_var}_FILE (or --state-dir) as the daemon has it")


def _vault(settings: Any) -> Any:
    from ivr.keys import RECORDING_KEY, recording_key
    from ivr.recordings.cipher import RecordingCipher
    from ivr.recordings.vault import RecordingVault

    _existing_key(settings, RECORDING_KEY, "IVR_RECORDING_KEY")
    folder = Path(settings.recording_dir) if settings.recording_dir else settings.state_dir / "recordings"
    return RecordingVault(folder, settings.recording_spool, RecordingCipher(recording_key(settings.state_dir)))


def run_list(args: argparse.Namespace) -> int:
    from ivr.recordings import access

    settings = _settings(args)
    db = _open(args, settings)
    try:
        rows = access.list_recordings(db, actor=_actor(), now=time.time(), group=args.group)
    finally:
        db.close()
    for row in rows:
        item = {"id": row.recording_id, "group": row.group, "department": row.department, "consent": row.consent,
                "state": row.state, "created": _when(row.created_at), "expires": _when(row.expires_at),
                "bytes": row.size_bytes}
        if args.json:
            print(json.dumps(item))
        else:
            print(f"{row.recording_id}  {item['created']}  {row.group:<10} {row.state:<9} {row.consent:<9} "
                  f"expires {item['expires']}")
    if not args.json:
        print(f"{len(rows)} recording(s)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ivr.recordings import access
    from ivr.recordings.cipher import RecordingOpenError

    settings = _settings(args)
    vault = _vault(settings)
    db = _open(args, settings)
    try:
        size = access.export(db, vault, args.recording_id, Path(args.out), actor=_actor(), now=time.time())
    except (access.RecordingNotFound, ValueError) as exc:
        print(f"ivr recordings: no stored recording {args.recording_id}"
              + (f" ({exc})" if isinstance(exc, RecordingOpenError) else ""), file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"wrote {args.out} ({size} bytes)")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from ivr.keys import HASH_KEY, hash_key
    from ivr.privacy import NumberHasher
    from ivr.recordings import access

    settings = _settings(args)
    vault = _vault(settings)
    db = _open(args, settings)
    try:
        if args.caller is not None:
            number = sys.stdin.readline().strip() if args.caller == "-" else args.caller
            _existing_key(settings, HASH_KEY, "IVR_HASH_KEY")
            hasher = NumberHasher(hash_key(settings.state_dir))
            count = access.erase_caller(db, vault, hasher, number, actor=_actor(), now=time.time())
            print(f"erased {count} recording(s) of calls from that number")
            return 0
        try:
            found = access.delete(db, vault, args.recording_id, actor=_actor(), now=time.time())
        except ValueError:
            found = False
    finally:
        db.close()
    print(f"deleted {args.recording_id}" if found else f"no recording {args.recording_id}",
          file=sys.stdout if found else sys.stderr)
    return 0 if found else 1


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
