"""Generate a large configuration: the benchmark's config (the shipped main menu, open around the clock)
plus generated plans, groups and agents, to time `ivr check`, a hot reload and a call's first prompt.

    python -m bench.genconfig DEST [--nodes 2000] [--groups 200] [--agents 2000]

Generated plans are trees of menus (keys 1-5) that end in queues spread over the generated groups,
100 nodes each; groups copy a shipped group's plain queue settings, agents a shipped agent's fields.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from bench.benchconfig import write_bench_config

NODES_PER_PLAN = 100
MENU_KEYS = ("1", "2", "3", "4", "5")


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def generated_plan(index: int, nodes: int, groups: list[str]) -> dict[str, Any]:
    """A plan of `nodes` nodes: a welcome, a chain of menus, and queues on the other keys."""
    body: dict[str, Any] = {"welcome": {"kind": "play", "prompt": "welcome", "next": "menu_0"}}
    # Enough menus that their keys reach every queue: 4 queue keys per menu, 5 on the last one.
    menus = max(1, -(-(nodes - 2) // len(MENU_KEYS)))
    queues = nodes - 1 - menus
    slot = 0
    for m in range(menus):
        options: dict[str, str] = {}
        for k, key in enumerate(MENU_KEYS):
            if k == 0 and m + 1 < menus:
                options[key] = f"menu_{m + 1}"
            else:
                options[key] = f"queue_{slot % queues}"
                slot += 1
        body[f"menu_{m}"] = {"kind": "menu", "prompt": "menu", "options": options, "timeout": 5, "attempts": 2,
                             "fallback": "queue_0"}
    for q in range(queues):
        body[f"queue_{q}"] = {"kind": "queue", "group": groups[(index * queues + q) % len(groups)],
                              "prompt": "connecting"}
    return {
        "plan": f"generated_{index:03d}",
        "description": "generated for the config benchmark",
        "numbers": [f"+46405{index:05d}"],
        "languages": ["sv", "en"],
        "default_language": "sv",
        "start": "welcome",
        "nodes": body,
        "prompts": {name: {"text": {"sv": f"{name} {index}", "en": f"{name} {index}"}}
                    for name in ("welcome", "menu", "connecting")},
    }


def generate(dest: Path, *, nodes: int = 2000, groups: int = 200, agents: int = 2000) -> dict[str, int]:
    """Write the large config root into `dest`; the totals it holds (shipped entries included)."""
    write_bench_config(dest)
    shipped = yaml.safe_load((dest / "agents" / "groups.yaml").read_text(encoding="utf-8"))
    # The plain queue settings of a shipped group; no department, overflow or skills to tie it to others.
    first_group = next(iter(shipped["groups"].values()))
    group_template = {key: first_group[key] for key in ("strategy", "ring_timeout", "wrapup", "max_wait")
                      if key in first_group}
    new_groups = {f"gen_group_{g:03d}": {**group_template, "queue": f"gen-queue-{g:03d}",
                                         "description": f"generated group {g}"}
                  for g in range(max(0, groups - len(shipped["groups"])))}
    _dump(dest / "agents" / "generated_groups.yaml", {"groups": new_groups})
    people = yaml.safe_load((dest / "agents" / "agents.yaml").read_text(encoding="utf-8"))["agents"]
    agent_template = dict(next(iter(people.values())))
    group_names = sorted(new_groups) or sorted(shipped["groups"])
    new_agents = {f"gen.agent{a:04d}": {**agent_template, "name": f"Generated Agent {a}",
                                        "extension": f"{60000 + a}",
                                        "groups": [group_names[a % len(group_names)],
                                                   group_names[(a * 7 + 1) % len(group_names)]]}
                  for a in range(max(0, agents - len(people)))}
    _dump(dest / "agents" / "generated_agents.yaml", {"agents": new_agents})
    shipped_nodes = sum(len(yaml.safe_load(p.read_text(encoding="utf-8")).get("nodes", {}))
                        for p in sorted((dest / "dialplans").glob("*.yaml")))
    remaining, index = nodes - shipped_nodes, 0
    while remaining > 0:
        size = min(NODES_PER_PLAN, remaining)
        size = max(size, len(MENU_KEYS) + 2)
        _dump(dest / "dialplans" / f"generated_{index:03d}.yaml", generated_plan(index, size, group_names))
        remaining -= size
        index += 1
    return {"nodes": nodes - min(remaining, 0), "groups": len(shipped["groups"]) + len(new_groups),
            "agents": len(people) + len(new_agents), "plans": index + 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--agents", type=int, default=2000)
    args = parser.parse_args(argv)
    totals = generate(args.dest, nodes=args.nodes, groups=args.groups, agents=args.agents)
    print(", ".join(f"{value} {name}" for name, value in totals.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
