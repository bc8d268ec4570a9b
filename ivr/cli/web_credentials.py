"""`ivr agents password NAME [--stdin]`: set an agent's or supervisor's web desktop password (kept
only as an argon2 hash in the records database; their sessions end). From a terminal it is asked for
twice without echo; with --stdin it is the first line of standard input (for provisioning scripts)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from ivr.config.loader import ConfigSet
from ivr.desktop.store import set_password
from ivr.settings import Settings
from ivr.store.db import open_database

MIN_LENGTH = 12


def read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New web password: ")
    if getpass.getpass("Again: ") != first:
        print("the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def run_password(args: argparse.Namespace, config: ConfigSet) -> int:
    name = args.agent
    if name not in config.agents and name not in config.supervisors:
        print(f"'{name}' is neither an agent nor a supervisor in agents/*.yaml", file=sys.stderr)
        return 1
    password = read_password(args.stdin)
    if password is None:
        return 1
    if len(password) < MIN_LENGTH:
        print(f"too short: at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    db = open_database(Settings().store_url)
    try:
        set_password(db, name, password, time.time())
    finally:
        db.close()
    print(f"web password set for {name}")
    return 0
