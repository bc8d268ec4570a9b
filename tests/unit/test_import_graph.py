"""Imports in `ivr/` run one way: read with `ast` (nothing is imported), the graph of modules and the
graph of top-level packages have no circle, the ground floor imports nothing above it, and no import
hides inside a function to dodge a circle.

An import under `if TYPE_CHECKING:` counts: mypy follows it, and a circle through it is still a
circle in the design.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

IVR = Path(__file__).resolve().parents[2] / "ivr"

# The ground floor: the YAML formats, the two wire protocols and the call channel they share. Every
# other package builds on these, so they import only each other.
GROUND = ("ivr.config", "ivr.ami", "ivr.agi", "ivr.channel")

# `ivr --help` imports every sub-command module to build its parser; each imports what its command
# needs (the daemon, the database, plotting) only when that command runs. Nowhere else.
LAZY_IMPORTS_ALLOWED = ("ivr.cli",)


def _module_name(path: Path) -> str:
    parts = path.relative_to(IVR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(IVR.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module an imported name lives in (`ivr.config.loader.ConfigSet` -> `ivr.config.loader`)."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import at line {node.lineno}: write the whole ivr.* path"
            if node.module and node.module.split(".")[0] == "ivr":
                for alias in node.names:
                    yield node, _resolve(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ivr":
                    yield node, _resolve(alias.name)


@functools.cache
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {target for _, target in _imports(tree) if target != name}
    return graph


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts with more than one member (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.append(member)
                    if member == node:
                        break
                if len(part) > 1:
                    found.append(sorted(part))
    return found


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_the_reader_sees_the_whole_tree() -> None:
    graph = _graph()
    assert {"ivr.config.loader", "ivr.engine.nodes.base", "ivr.validate"} <= set(graph)
    assert "ivr.config.loader" in graph["ivr.validate"]


def test_no_module_imports_itself_in_a_circle() -> None:
    assert _circles(_graph()) == []


def test_no_two_packages_import_each_other() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        packages.setdefault(_package(module), set()).update(
            _package(target) for target in targets if _package(target) != _package(module))
    assert _circles(packages) == []


def test_the_ground_floor_imports_nothing_above_it() -> None:
    above = sorted(f"{module} -> {target}" for module, targets in _graph().items() if _in(module, GROUND)
                   for target in targets if not _in(target, GROUND))
    assert above == []


def test_no_import_of_ivr_inside_a_function() -> None:
    hidden = []
    for name, path in MODULES.items():
        if _in(name, LAZY_IMPORTS_ALLOWED):
            continue
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden += [f"{path.relative_to(IVR.parent)}:{node.lineno} imports {target}"
                           for node, target in _imports(function)]
    assert hidden == []


def test_a_circle_is_seen() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
