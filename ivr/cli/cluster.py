"""`ivr cluster status [--json]`: every daemon of the site as its retained health message on the
broker says (up, stopped, down by its Last Will, or stale), with its config version and calls in
progress; and, when the shared store answers, which callbacks and jobs each node holds."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from ivr.cli.common import load_or_print


def register(sub: Any) -> None:
    parser = sub.add_parser("cluster", help="the daemons of this site: health, config version, calls")
    actions = parser.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="every node's health from the broker (and the store's leases)")
    status.add_argument("--json", action="store_true", help="JSON instead of a table")
    status.add_argument("--config", nargs="*", default=["."], help="config files or folders (for the site name)")
    status.add_argument("--site", default=None, help="site (default: $IVR_MQTT_SITE, else routing_rules.yaml)")
    status.add_argument("--db", default=None, help="the shared store (default: $IVR_DB_URL); 'none' to skip it")
    status.set_defaults(func=run_status)


def mqtt_settings(site: str | None, config_paths: list[str]) -> Any:
    """The broker settings of the daemons (IVR_MQTT_*), for the site they publish under."""
    from ivr.events.mqtt import MqttConfig
    from ivr.settings import Settings

    settings = Settings()
    if not settings.mqtt_host:
        return None
    name = site or settings.mqtt_site
    if not name:
        config = load_or_print(config_paths, stream=sys.stderr)
        if config is None:
            return None
        name = config.rules.site
    return MqttConfig(settings.mqtt_host, settings.mqtt_port, name, settings.mqtt_username, settings.mqtt_password)


def run_status(args: argparse.Namespace) -> int:
    from ivr.cluster.reader import read_nodes, store_view
    from ivr.settings import Settings

    config = mqtt_settings(args.site, args.config)
    if config is None:
        print("ivr cluster status: no broker (IVR_MQTT_HOST is empty) or no site", file=sys.stderr)
        return 2
    try:
        nodes = asyncio.run(read_nodes(config))
    except Exception as exc:
        print(f"ivr cluster status: broker {config.host}:{config.port} not reachable: {exc}", file=sys.stderr)
        return 2
    now = time.time()
    rows = [health.as_dict(now) for _, health in sorted(nodes.items())]
    url = args.db or Settings().db_url
    store: dict[str, Any] = {}
    if url and url != "none":
        try:
            store = store_view(url, now)
        except Exception as exc:  # the broker's view stands on its own
            store = {"error": f"{type(exc).__name__}: {str(exc)[:150]}"}
    for row in rows:
        row["callbacks_held"] = store.get("callbacks_held", {}).get(row["node"], 0)
    if args.json:
        print(json.dumps({"site": config.site, "nodes": rows, "store": store}, indent=2))
    else:
        print(table(config.site, rows, store))
    return 0 if rows and all(r["state"] == "up" and r["healthy"] for r in rows) else 1


def table(site: str, rows: list[dict[str, Any]], store: dict[str, Any]) -> str:
    head = ("node", "state", "healthy", "config", "calls", "callbacks", "last seen", "started")
    lines = [(r["node"], r["state"], "yes" if r["healthy"] else "no", r["config_version"], str(r["calls"]),
              str(r["callbacks_held"]), f"{r['last_seen_s']:.0f} s ago", r["started"]) for r in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(head, *lines, strict=False)]
    out = [f"site {site}: {len(rows)} node(s)"]
    out += ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in (head, *lines)]
    if not rows:
        out.append("(no node has published its health: are the daemons running with IVR_MQTT_HOST?)")
    versions = {r["config_version"] for r in rows if r["state"] == "up"}
    if len(versions) > 1:
        out.append(f"warning: the nodes run different config versions: {', '.join(sorted(versions))}")
    for name, job in sorted(store.get("jobs", {}).items()):
        out.append(f"job {name}: held by {job['node']} ({job['lease_left_s']:.0f} s left)")
    if "error" in store:
        out.append(f"store not read: {store['error']}")
    return "\n".join(out)
