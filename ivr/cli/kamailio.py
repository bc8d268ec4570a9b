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
    gen.add_argument("--passwords", type=Path,
                     help="pjsip_agents_auth.conf (`ivr asterisk passwords`): write phones_auth.cfg, the desk "
                          "phones' and browser softphones' digest hashes (secret, mode 0600); without it an empty "
                          "one is written if none exists (no phone can register)")
    gen.add_argument("--edge", help="with two edges (cluster.edge.hosts): which one this is; also writes its "
                                    "keepalived.conf")
    gen.add_argument("--ctl-socket", default=None,
                     help="Kamailio's control socket, for keepalived's check (default: kamailio.cfg's "
                          "unix:/run/kamailio/kamailio_ctl)")
    gen.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from ivr.kamailio_gen import PHONES_FILE, edge_host, generate
    from ivr.keepalived_gen import DEFAULT_CTL_SOCKET

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
    try:
        host = edge_host(cluster, args.edge)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    files = generate(cluster, args.out, config.rules.trunk_sources(), host, args.ctl_socket or DEFAULT_CTL_SOCKET)
    secret: dict[str, str] = {}
    if args.passwords is not None:
        secret[PHONES_FILE] = _phones(config, args.passwords)
    elif not (args.out / PHONES_FILE).exists():
        secret[PHONES_FILE] = _phones(config, None)
    if args.check:
        files = {**files, **(secret if args.passwords is not None else {})}
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
    for name, text in secret.items():
        path = args.out / name
        partial = path.with_name(path.name + ".tmp")
        partial.touch(mode=0o600)
        partial.chmod(0o600)  # before the hashes are in it
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        print(f"wrote {path} (secret)")
    return 0


def _phones(config: Any, passwords: Path | None) -> str:
    from ivr.asterisk_gen.pjsip import read_credentials
    from ivr.kamailio_gen import phone_extensions, phones_cfg

    credentials: dict[str, tuple[str, str]] = {}
    missing = []
    for extension in phone_extensions(config):
        found = read_credentials(passwords, extension) if passwords is not None else None
        if found is None:
            missing.append(extension)
        else:
            credentials[extension] = found
    if passwords is not None and missing:
        print(f"note: no password in {passwords} for phone(s) {', '.join(missing)}: they cannot register "
              "(`ivr asterisk passwords` adds them)", file=sys.stderr)
    return phones_cfg(credentials)
