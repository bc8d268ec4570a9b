"""`ivr reload`: check the config, then ask the running daemon to load it (SIGHUP to the pid in var/ivr.pid).

The daemon checks again and keeps its last good config if the files changed in between; this command
checks first so a broken config is refused here, with its problems, rather than only in the daemon's log.

`--all`: every daemon of the site, wherever it runs, through the broker (the command topic each daemon
subscribes to; ivr/cluster/command.py, docs/cluster-operations.md); `ivr cluster status` then shows
each node's config version.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ivr.config import ConfigError, ConfigSet
from ivr.validate import load_config


def register(sub: Any) -> None:
    parser = sub.add_parser("reload", help="check the config and tell the running daemon to load it (SIGHUP)")
    parser.add_argument("--config", nargs="*", default=["."], help="config files or folders (default: .)")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="where the daemon keeps ivr.pid (default: $IVR_STATE_DIR or var/)")
    parser.add_argument("--all", action="store_true",
                        help="every daemon of the site, through the MQTT broker (IVR_MQTT_*; IVR_CLUSTER_KEY signs it)")
    parser.add_argument("--site", default=None, help="with --all: the site (default: $IVR_MQTT_SITE or the config's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format())
        print(f"not reloading: {len(exc.problems)} problem(s); the daemon keeps its current config",
              file=sys.stderr)
        return 1
    if args.all:
        return reload_all(args, config)
    state_dir = args.state_dir or Path(os.environ.get("IVR_STATE_DIR", "var"))
    pid = daemon_pid(state_dir / "ivr.pid")
    if pid is None:
        print(f"no running daemon: {state_dir / 'ivr.pid'} is missing or stale (start it with `ivr run`)",
              file=sys.stderr)
        return 2
    describe(config)
    os.kill(pid, signal.SIGHUP)
    print(f"sent SIGHUP to the daemon (pid {pid}); its log says 'config reloaded' with new_version={config.version}")
    return 0


def daemon_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)  # signal 0: does the process exist (and may we signal it)?
    except (OSError, ValueError):
        return None
    # A pid file left by a crash may name a pid since reused by another program, which SIGHUP would stop.
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"ivr" not in cmdline.read_bytes():
        return None
    return pid


def describe(config: ConfigSet) -> None:
    print(f"the daemon will load config version {config.version}:")
    for plan in config.plans.values():
        print(f"  plan {plan.name}: {len(plan.nodes)} nodes, {len(plan.prompts)} prompts, "
              f"numbers {', '.join(plan.numbers)} ({plan.source})")
    print(f"  {len(config.groups)} groups ({', '.join(g.queue for g in config.groups.values())}), "
          f"{len(config.agents)} agents, {len(config.rules.schedules)} schedule(s)")
    print(f"  files: {', '.join(config.files)}")


def reload_all(args: argparse.Namespace, config: ConfigSet) -> int:
    """Publish the reload command; every daemon subscribed to it reloads (see ivr.cluster.command)."""
    import asyncio
    import getpass
    import secrets
    import socket

    from ivr.cli.cluster import mqtt_settings
    from ivr.cluster.command import reload_command
    from ivr.cluster.reader import publish
    from ivr.events.mqtt import MessageBuilder
    from ivr.settings import read_secret

    mqtt = mqtt_settings(args.site, args.config)
    if mqtt is None:
        print("ivr reload --all: no broker (IVR_MQTT_HOST is empty) or no site", file=sys.stderr)
        return 2
    key = read_secret("IVR_CLUSTER_KEY").encode()
    message = reload_command(MessageBuilder(mqtt.site), by=f"{getpass.getuser()}@{socket.gethostname()}", key=key,
                             nonce=secrets.token_hex(8))
    try:
        asyncio.run(publish(mqtt, message))
    except Exception as exc:
        print(f"ivr reload --all: broker {mqtt.host}:{mqtt.port} not reachable: {exc}", file=sys.stderr)
        return 2
    describe(config)
    print(f"asked every daemon of site {mqtt.site} to reload (topic {message.topic}); "
          f"`ivr cluster status` shows each node's config version (expected {config.version})")
    return 0
