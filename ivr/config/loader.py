"""Find, parse and validate the config files, and build one immutable `ConfigSet`.

This floor knows the YAML formats only: the node kinds and the checks of the packages above it are
handed in (`ivr.validate` composes them), so nothing here imports a higher package."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from ivr.config.errors import problems_from_validation
from ivr.config.model import Agent, AgentGroup, Department, GroupsFile, Official, RoutingRules, Supervisor
from ivr.config.plan import Plan, PlanHeader, PlanNode
from ivr.config.problems import ConfigError, Problem
from ivr.config.yamlsource import SourceDoc, load_yaml

RULES_FILE = "routing_rules.yaml"


@dataclass(frozen=True)
class ConfigSet:
    """One complete, checked version of the configuration. Calls keep the version they started on."""

    rules: RoutingRules
    plans: Mapping[str, Plan]
    groups: Mapping[str, AgentGroup]
    agents: Mapping[str, Agent]
    version: str
    files: tuple[str, ...] = field(default=())
    # Who calls citizens (agents/*.yaml `departments:` and `officials:`; see ivr.callerid).
    departments: Mapping[str, Department] = field(default_factory=lambda: MappingProxyType({}))
    officials: Mapping[str, Official] = field(default_factory=lambda: MappingProxyType({}))
    # Who steers agents on the web desktop (agents/*.yaml `supervisors:`; see ivr.desktop).
    supervisors: Mapping[str, Supervisor] = field(default_factory=lambda: MappingProxyType({}))

    def plan_for_number(self, dialled: str) -> Plan | None:
        for plan in self.plans.values():
            if dialled in plan.numbers:
                return plan
        return None

    @property
    def zone(self) -> ZoneInfo:
        """The city's time zone: that of the first schedule (all schedules of one site share it)."""
        schedules = self.rules.schedules
        return next(iter(schedules.values())).zone if schedules else ZoneInfo("Europe/Stockholm")

    @property
    def default_queue(self) -> str:
        return self.groups[self.rules.default_group].queue


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """The YAML files named by `paths` (files, or folders searched for *.yaml / *.yml)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if (path / "dialplans").is_dir():
                # A config root; a missing routing_rules.yaml is reported by load_config.
                parts = [path / "dialplans", path / RULES_FILE, path / "agents"]
                found += discover([part for part in parts if part.exists()])
            else:
                found += sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        else:
            found.append(path)
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def _role(doc: SourceDoc, path: Path) -> str:
    if path.name in (RULES_FILE, "routing_rules.yml"):
        return "rules"
    if path.parent.name == "agents":
        return "agents"
    if path.parent.name == "dialplans":
        return "plan"
    data = doc.data if isinstance(doc.data, dict) else {}
    if "nodes" in data:
        return "plan"
    if data.keys() & {"groups", "agents", "departments", "officials", "supervisors"}:
        return "agents"
    return "rules"


def _validate(doc: SourceDoc, model: type[BaseModel], data: Any, prefix: tuple[str, ...] = ()) -> Any:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from_validation(doc, exc, prefix, model)


NodeKinds = Mapping[str, type[PlanNode]]


def _build_nodes(doc: SourceDoc, raw_nodes: Mapping[str, Any],
                 node_kinds: NodeKinds) -> tuple[dict[str, PlanNode], list[Problem]]:
    nodes: dict[str, PlanNode] = {}
    problems: list[Problem] = []
    for node_id, body in raw_nodes.items():
        where = ("nodes", node_id)
        kind = body.get("kind")
        cls = node_kinds.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = sorted(node_kinds)
            guess = difflib.get_close_matches(str(kind), known, n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            message = f"node '{node_id}' has unknown kind '{kind}'" if kind else f"node '{node_id}' has no kind"
            problems.append(doc.problem((*where, "kind"), message, f"{hint}known kinds: {', '.join(known)}"))
            continue
        node, found = _validate(doc, cls, body, where)
        problems += found
        if node is not None:
            nodes[node_id] = node
    return nodes, problems


def _load_plan(doc: SourceDoc, node_kinds: NodeKinds) -> tuple[Plan | None, list[Problem]]:
    header, problems = _validate(doc, PlanHeader, doc.data)
    if header is None:
        # Still check the nodes, so one run shows every problem in the file.
        raw = doc.data.get("nodes") if isinstance(doc.data, dict) else None
        if isinstance(raw, dict) and all(isinstance(v, dict) for v in raw.values()):
            problems += _build_nodes(doc, raw, node_kinds)[1]
        return None, problems
    nodes, node_problems = _build_nodes(doc, header.nodes, node_kinds)
    if node_problems:
        return None, node_problems
    plan = Plan(
        name=header.plan,
        source=doc.path,
        description=header.description,
        numbers=header.numbers,
        languages=header.languages,
        default_language=header.default_language,
        start=header.start,
        prompts=MappingProxyType(dict(header.prompts)),
        nodes=MappingProxyType(nodes),
    )
    return plan, []


@dataclass
class LoadedFiles:
    """What was parsed, before the cross-file checks."""

    docs: dict[str, SourceDoc] = field(default_factory=dict)
    rules: tuple[SourceDoc, RoutingRules] | None = None
    plans: list[tuple[SourceDoc, Plan]] = field(default_factory=list)
    agent_files: list[tuple[SourceDoc, GroupsFile]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    digest: str = ""


# A check across files, run on a complete ConfigSet (`ivr.validate.CHECKS` lists them).
Check = Callable[[ConfigSet, LoadedFiles], list[Problem]]


def parse_files(files: Iterable[Path], node_kinds: NodeKinds) -> LoadedFiles:
    loaded = LoadedFiles()
    digest = hashlib.sha256()
    for path in files:
        display = _display(path)
        with contextlib.suppress(OSError):
            digest.update(_version_key(path).encode() + b"\0" + path.read_bytes() + b"\0")
        doc, problems = load_yaml(path, display=display)
        loaded.docs[display] = doc
        loaded.problems += problems
        if problems and doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            loaded.problems.append(doc.problem((), "the file must be a mapping of keys to values",
                                               "see the examples in dialplans/ and agents/"))
            continue
        role = _role(doc, path)
        if role == "plan":
            plan, found = _load_plan(doc, node_kinds)
            loaded.problems += found
            if plan:
                loaded.plans.append((doc, plan))
        elif role == "agents":
            groups, found = _validate(doc, GroupsFile, doc.data)
            loaded.problems += found
            if groups:
                loaded.agent_files.append((doc, groups))
        else:
            rules, found = _validate(doc, RoutingRules, doc.data)
            loaded.problems += found
            if rules:
                if loaded.rules is not None:
                    loaded.problems.append(doc.problem((), "a second routing rules file",
                                                       f"rules are already given in {loaded.rules[0].path}"))
                else:
                    loaded.rules = (doc, rules)
    loaded.digest = digest.hexdigest()[:12]
    return loaded


def _version_key(path: Path) -> str:
    """The same files give the same version wherever they are loaded from."""
    folder = path.resolve().parent.name
    return f"{folder}/{path.name}" if folder in ("dialplans", "agents") else path.name


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_config(paths: Sequence[str | Path], *, node_kinds: NodeKinds, checks: Sequence[Check]) -> ConfigSet:
    """Parse and check everything; raise ConfigError listing every problem, or return the ConfigSet."""
    files = discover(paths)
    if not files:
        raise ConfigError([Problem(str(paths[0]) if paths else ".", 1, 1, "no YAML files found",
                                   "point at the folder that holds routing_rules.yaml")])
    loaded = parse_files(files, node_kinds)
    problems = list(loaded.problems)
    if loaded.rules is None and not any(p.file.endswith(RULES_FILE) for p in problems):
        problems.append(Problem(_display(files[0]), 1, 1, f"no {RULES_FILE} among the files checked",
                                f"also name {RULES_FILE} (and agents/) on the command line"))
    groups: dict[str, AgentGroup] = {}
    agents: dict[str, Agent] = {}
    departments: dict[str, Department] = {}
    officials: dict[str, Official] = {}
    supervisors: dict[str, Supervisor] = {}
    for doc, agent_file in loaded.agent_files:
        problems += _merge(doc, "supervisor", "supervisors", agent_file.supervisors, supervisors)
        problems += _merge(doc, "department", "departments", agent_file.departments, departments)
        problems += _merge(doc, "official", "officials", agent_file.officials, officials)
        for name, group in agent_file.groups.items():
            if name in groups:
                problems.append(doc.problem(("groups", name), f"agent group '{name}' is defined twice",
                                            "keep one definition", key=True))
            groups[name] = group
        for name, agent in agent_file.agents.items():
            if name in agents:
                problems.append(doc.problem(("agents", name), f"agent '{name}' is defined twice",
                                            "keep one definition", key=True))
            agents[name] = agent
    if problems or loaded.rules is None:
        raise ConfigError(problems)
    config = ConfigSet(
        rules=loaded.rules[1],
        plans=MappingProxyType({plan.name: plan for _, plan in loaded.plans}),
        groups=MappingProxyType(groups),
        agents=MappingProxyType(agents),
        version=loaded.digest,
        files=tuple(loaded.docs),
        departments=MappingProxyType(departments),
        officials=MappingProxyType(officials),
        supervisors=MappingProxyType(supervisors),
    )
    problems = [problem for check in checks for problem in check(config, loaded)]
    if any(p.severity == "error" for p in problems):
        raise ConfigError(problems)
    return config


def _merge(doc: SourceDoc, what: str, section: str, found: Mapping[str, Any], into: dict[str, Any]) -> list[Problem]:
    problems = []
    for name, item in found.items():
        if name in into:
            problems.append(doc.problem((section, name), f"{what} '{name}' is defined twice", "keep one definition",
                                        key=True))
        into[name] = item
    return problems
