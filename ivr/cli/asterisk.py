"""`ivr asterisk generate|passwords|reload`: Asterisk configuration from the YAML, and applying it live."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ivr.config import ConfigError
from ivr.validate import load_config


def register(sub: Any) -> None:
    parser = sub.add_parser("asterisk", help="generate Asterisk queue/phone configuration from the YAML, reload it")
    actions = parser.add_subparsers(dest="action", required=True)
    gen = actions.add_parser("generate", help="write queues_generated.conf, queuerules.conf, pjsip_agents.conf, "
                                              "extensions_callerid.conf, pjsip_trunk.conf, pjsip_edge.conf, "
                                              "extensions_daemons.conf")
    gen.add_argument("--config", nargs="*", default=["."])
    gen.add_argument("--out", type=Path, default=Path("asterisk-config"), help="default: asterisk-config/")
    gen.add_argument("--check", action="store_true", help="write nothing; fail when the files are out of date")
    gen.add_argument("--node", help="also write pjsip_node.conf: this cluster node's own transport (docs/cluster.md)")
    gen.set_defaults(func=run_generate)
    pw = actions.add_parser("passwords", help="add random passwords for new agent phones (keeps existing ones)")
    pw.add_argument("--config", nargs="*", default=["."])
    pw.add_argument("--out", type=Path, required=True,
                    help="pjsip_agents_auth.conf next to Asterisk's pjsip.conf (kept out of git)")
    pw.set_defaults(func=run_passwords)
    reload = actions.add_parser("reload", help="apply queue changes without a restart (waiting callers stay)")
    reload.set_defaults(func=run_reload)


def _config(paths: list[str]) -> Any:
    try:
        return load_config(paths)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return None


def run_generate(args: argparse.Namespace) -> int:
    from ivr.asterisk_gen import stale_files, write_files
    from ivr.asterisk_gen.trunk import AUTH, AUTH_FILE

    config = _config(args.config)
    if config is None:
        return 1
    if args.check:
        stale = stale_files(config, args.out)
        for name in stale:
            print(f"{args.out / name} is out of date; run `ivr asterisk generate`", file=sys.stderr)
        return 1 if stale else 0
    extra = _node_file(config, args.node)
    if extra is None:
        return 1
    for path in write_files(config, args.out, extra=extra):
        print(f"wrote {path}")
    trunk = config.rules.trunk
    if trunk is not None and trunk.auth is not None and not (args.out / AUTH_FILE).exists():
        print(f"note: the trunk authenticates as {trunk.auth.username}: write its password in "
              f"{args.out / AUTH_FILE} ([{AUTH}], type = auth; asterisk-config/README.md), never in git",
              file=sys.stderr)
    return 0


def _node_file(config: Any, name: str | None) -> dict[str, str] | None:
    """`--node NAME`: that node's pjsip_node.conf; None (after saying why) when there is no such node."""
    from ivr.asterisk_gen.edge import NODE_FILE, pjsip_node

    if name is None:
        return {}
    cluster = config.rules.cluster
    if cluster is None:
        print("--node needs a `cluster:` in routing_rules.yaml (docs/cluster.md)", file=sys.stderr)
        return None
    try:
        return {NODE_FILE: pjsip_node(cluster, name)}
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return None


def run_passwords(args: argparse.Namespace) -> int:
    from ivr.asterisk_gen.pjsip import write_passwords

    config = _config(args.config)
    if config is None:
        return 1
    added = write_passwords(config, args.out)
    print(f"{args.out}: {len(added)} new phone password(s){': ' + ', '.join(added) if added else ''}")
    return 0


def run_reload(args: argparse.Namespace) -> int:
    from ivr.asterisk_gen.reload import reload_asterisk
    from ivr.cli.amiconn import cli_ami
    from ivr.settings import Settings

    async def reload() -> list[str]:
        async with cli_ami(Settings(), admin=True) as ami:
            return await reload_asterisk(ami)

    try:
        report = asyncio.run(reload())
    except Exception as exc:
        print(f"reload failed: {exc}", file=sys.stderr)
        return 1
    for line in report:
        print(line)
    return 0
