"""`ivr agents list|login|logout|pause|unpause`: agents' queue sessions, over AMI (the same actions
as the phones' feature codes *45/*46/*47/*48); `ivr agents password NAME`: a web desktop password."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ivr.cli.common import load_or_print
from ivr.cli.web_credentials import run_password


def register(sub: Any) -> None:
    parser = sub.add_parser("agents", help="list agents' states; log agents in or out, pause, unpause")
    parser.add_argument("--config", nargs="*", default=["."])
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every agent: logged out, or state, pause reason and queues")
    listing.add_argument("--json", action="store_true")
    for name, text in (("login", "log in to every queue of the agent's groups"),
                       ("logout", "log out of every queue"), ("unpause", "end a pause")):
        action = actions.add_parser(name, help=text)
        action.add_argument("agent", help="agent id from agents/agents.yaml, e.g. anna.andersson")
    pause = actions.add_parser("pause", help="pause in every queue, with a reason")
    pause.add_argument("agent")
    pause.add_argument("--reason", default="pause", help="e.g. lunch, meeting (routing_rules.yaml pause_reasons)")
    password = actions.add_parser("password", help="set an agent's or supervisor's web desktop password")
    password.add_argument("agent", help="agent or supervisor id from agents/*.yaml")
    password.add_argument("--stdin", action="store_true", help="read it from standard input (one line)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_print(args.config, stream=sys.stderr)
    if config is None:
        return 1
    if args.action == "password":
        return run_password(args, config)
    try:
        return asyncio.run(_run(args, config))
    except Exception as exc:
        print(f"{args.action} failed: {exc}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, config: Any) -> int:
    from ivr.agents.control import AgentControl
    from ivr.cli.amiconn import cli_ami
    from ivr.live.status import agent_rows, fetch_view
    from ivr.settings import Settings

    settings = Settings()
    async with cli_ami(settings) as ami:
        if args.action == "list":
            view = await fetch_view(ami)
            rows = agent_rows(view, {agent_id: agent.name for agent_id, agent in config.agents.items()})
            if args.json:
                print(json.dumps(rows, indent=1))
            else:
                for row in rows:
                    reason = f" ({row['reason']})" if row["reason"] else ""
                    print(f"{row['agent']:<18} {row['name']:<20} {row['state']}{reason}  {' '.join(row['queues'])}")
            return 0
        control = AgentControl(ami, settings.agent_interface, settings.agent_browser_interface)
        if args.action == "login":
            done = await control.login(config, args.agent)
        elif args.action == "logout":
            done = await control.logout(config, args.agent)
        elif args.action == "pause":
            done = await control.pause(config, args.agent, args.reason)
        else:
            done = await control.unpause(config, args.agent)
        queues = f": {' '.join(done.queues)}" if done.queues else ""
        print(f"{args.action} {done.agent}{queues}")
        return 0
