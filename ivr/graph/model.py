"""What a picture shows: the nodes that parse, their edges, and which nodes have problems.

`load_config` refuses a plan with any problem, but a picture is most useful exactly then, so this
parses leniently: every node that validates is drawn, a node that does not is drawn as broken, and
the checker's problems are attached to the node whose lines they point at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ivr.config.loader import RULES_FILE, discover
from ivr.config.model import AgentGroup, Schedule
from ivr.config.plan import Ref
from ivr.config.problems import ConfigError, Problem
from ivr.config.yamlsource import SourceDoc
from ivr.engine.nodes import NODE_KINDS
from ivr.engine.nodes.base import NodeBase
from ivr.validate import load_config, parse_files


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str  # the DTMF key, or the field that names the target (next, open, closed, fallback, ...)


@dataclass
class PlanPicture:
    name: str
    start: str
    numbers: tuple[str, ...]
    nodes: dict[str, NodeBase]
    broken: dict[str, str]  # node id -> kind as written, for nodes that did not validate
    edges: list[Edge]
    groups: Mapping[str, AgentGroup] = field(default_factory=dict)
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    problems: dict[str, list[Problem]] = field(default_factory=dict)  # node id -> its problems
    other_problems: list[Problem] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [*self.nodes, *self.broken]

    @property
    def missing(self) -> list[str]:
        """Targets that edges point at but that are no node (misspelt `next:` and the like)."""
        known = set(self.ids)
        targets = {e.target for e in self.edges} | ({self.start} if self.start else set())
        return sorted(targets - known)

    @property
    def unreachable(self) -> set[str]:
        edges: dict[str, list[str]] = {}
        for edge in self.edges:
            edges.setdefault(edge.source, []).append(edge.target)
        seen = {self.start} if self.start in self.ids else set()
        stack = list(seen)
        while stack:
            for target in edges.get(stack.pop(), []):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return set(self.ids) - seen


def companions(plan_file: Path) -> list[Path]:
    """The rules and agents of the config tree a plan file lives in (dialplans/../), when present."""
    root = plan_file.resolve().parent.parent
    found = [root / RULES_FILE] if (root / RULES_FILE).is_file() else []
    return found + ([root / "agents"] if (root / "agents").is_dir() else [])


def load_picture(plan_file: Path, config: Sequence[Path] | None = None) -> PlanPicture:
    """Raises ConfigError only when the plan file itself cannot be read as YAML."""
    others = list(config) if config is not None else companions(plan_file)
    files = [plan_file, *[f for f in discover(others) if f.resolve() != plan_file.resolve()]]
    loaded = parse_files(files)
    doc = next(iter(loaded.docs.values()))
    if not isinstance(doc.data, dict):
        raise ConfigError([p for p in loaded.problems if p.file == doc.path]
                          or [doc.problem((), "the plan file must be a mapping of keys to values")])
    picture = _picture(doc.data)
    if loaded.rules:
        picture.schedules = loaded.rules[1].schedules
    picture.groups = {name: group for _, groups in loaded.agent_files for name, group in groups.groups.items()}
    _attach_problems(picture, doc, _problems(files))
    return picture


def _picture(data: dict[str, Any]) -> PlanPicture:
    raw_nodes = data.get("nodes") if isinstance(data.get("nodes"), dict) else {}
    nodes: dict[str, NodeBase] = {}
    broken: dict[str, str] = {}
    edges: list[Edge] = []
    for node_id, body in (raw_nodes or {}).items():
        kind = body.get("kind") if isinstance(body, dict) else None
        cls = NODE_KINDS.get(kind) if isinstance(kind, str) else None
        try:
            if cls is None:
                raise ValueError(f"unknown kind {kind!r}")
            nodes[str(node_id)] = cls.model_validate(body)
            refs = nodes[str(node_id)].refs()
        except (ValidationError, ValueError):
            broken[str(node_id)] = str(kind)
            refs = _best_effort_refs(cls, body)
        edges += [Edge(str(node_id), ref.target, _label(ref)) for ref in refs if ref.kind == "node"]
    numbers = data.get("numbers")
    return PlanPicture(
        name=str(data.get("plan", "?")),
        start=str(data.get("start", "")),
        numbers=tuple(str(n) for n in numbers) if isinstance(numbers, list) else (),
        nodes=nodes,
        broken=broken,
        edges=edges,
    )


def _best_effort_refs(cls: type[BaseModel] | None, body: Any) -> list[Ref]:
    """The edges of a node that did not validate, so the nodes behind it do not look unreachable."""
    if cls is None or not isinstance(body, dict) or not issubclass(cls, NodeBase):
        return []
    try:
        refs = cls.model_construct(**body).refs()
    except Exception:  # fields missing or of the wrong shape: draw the node without edges
        return []
    return [ref for ref in refs if isinstance(ref.target, str)]


def _label(ref: Ref) -> str:
    return str(ref.field[1]) if ref.field[0] == "options" and len(ref.field) > 1 else str(ref.field[0])


def _problems(files: Sequence[Path]) -> list[Problem]:
    try:
        load_config(list(files))
    except ConfigError as exc:
        return list(exc.problems)
    return []


def _attach_problems(picture: PlanPicture, doc: SourceDoc, problems: list[Problem]) -> None:
    """A problem belongs to the node whose lines (from its key to its last value) hold it."""
    spans: dict[str, tuple[int, int]] = {}
    for path, (line, _) in [*doc.marks.items(), *doc.key_marks.items()]:
        if len(path) >= 2 and path[0] == "nodes":
            low, high = spans.get(str(path[1]), (line, line))
            spans[str(path[1])] = (min(low, line), max(high, line))
    for problem in problems:
        owner = next((node for node, (low, high) in spans.items()
                      if problem.file == doc.path and low <= problem.line <= high and node in picture.ids), None)
        if owner:
            picture.problems.setdefault(owner, []).append(problem)
        else:
            picture.other_problems.append(problem)
