"""Asterisk configuration generated from the YAML (one source of truth): `ivr asterisk generate`.

- `queues_generated.conf`: agents/groups.yaml (a queue per group, a skill queue per skill language)
  and routing_rules.yaml `queueing.announcements`;
- `queuerules.conf`: the groups' `skills.widen_after` (penalty-widening rules of the skill queues);
- `pjsip_agents.conf`: agents/agents.yaml (an endpoint and AOR per agent softphone; the passwords
  live in `pjsip_agents_auth.conf`, never in git);
- `extensions_callerid.conf`: the officials' and agents' phones (the dialplan's caller-ID table for
  when the daemon is down, [ivr-callerid-table]);
- `pjsip_trunk.conf`: routing_rules.yaml `trunk:` (the operator's SIP trunk; its password lives in
  `pjsip_trunk_auth.conf`, never in git), and, when the output folder has a `sandbox/` overlay (the
  repository's asterisk-config/), `sandbox/pjsip_trunk.conf`: the same trunk on loopback addresses;
- `pjsip_edge.conf` and `extensions_daemons.conf`: routing_rules.yaml `cluster:` (Kamailio in front,
  several daemons; ivr/asterisk_gen/edge.py). A node's own `pjsip_node.conf` is written only by
  `ivr asterisk generate --node NAME`.
"""

from __future__ import annotations

from pathlib import Path

from ivr.asterisk_gen.callerid import callerid_table
from ivr.asterisk_gen.edge import DAEMONS_FILE, EDGE_FILE, daemons_conf, pjsip_edge
from ivr.asterisk_gen.pjsip import pjsip_agents
from ivr.asterisk_gen.queues import queue_rules, queues_conf
from ivr.asterisk_gen.trunk import pjsip_trunk, sandbox_trunk
from ivr.config.loader import ConfigSet

GENERATED = ("queues_generated.conf", "queuerules.conf", "pjsip_agents.conf", "extensions_callerid.conf",
             "pjsip_trunk.conf", EDGE_FILE, DAEMONS_FILE)
SANDBOX_TRUNK = "sandbox/pjsip_trunk.conf"


def generate(config: ConfigSet, *, sandbox: bool = False) -> dict[str, str]:
    """File name → content. Deterministic: the same config gives the same bytes. `sandbox` adds the
    development overlay's trunk (SANDBOX_TRUNK)."""
    files = {
        "queues_generated.conf": queues_conf(config),
        "queuerules.conf": queue_rules(config),
        "pjsip_agents.conf": pjsip_agents(config),
        "extensions_callerid.conf": callerid_table(config),
        "pjsip_trunk.conf": pjsip_trunk(config.rules.trunk),
        EDGE_FILE: pjsip_edge(config.rules.cluster, config.rules.trunk),
        DAEMONS_FILE: daemons_conf(config.rules.cluster),
    }
    if sandbox:
        files[SANDBOX_TRUNK] = pjsip_trunk(sandbox_trunk(config.rules.trunk))
    return files


def _files_for(config: ConfigSet, out_dir: Path) -> dict[str, str]:
    return generate(config, sandbox=(out_dir / "sandbox").is_dir())


def stale_files(config: ConfigSet, out_dir: Path) -> list[str]:
    """Generated files in `out_dir` that differ from what the config gives now."""
    return [name for name, text in _files_for(config, out_dir).items()
            if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != text]


def write_files(config: ConfigSet, out_dir: Path, *, extra: dict[str, str] | None = None) -> list[Path]:
    written = []
    for name, text in {**_files_for(config, out_dir), **(extra or {})}.items():
        path = out_dir / name
        partial = path.with_name(path.name + ".tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # Asterisk never reads a half-written file
        written.append(path)
    return written
