"""YAML loading that remembers where every value came from.

PyYAML's safe loader forgets positions and silently keeps the last of two equal keys; admins need
`file:line:column` for every problem and must be told about duplicate keys (e.g. a DTMF key given
twice), so we compose the node tree ourselves and keep a mark per path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.config.problems import Problem

PathKey = tuple[str | int, ...]


@dataclass
class SourceDoc:
    """One YAML file: its data and the (line, column) of every key and value, 1-based."""

    path: str
    data: Any
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """The position of `path`, or of its closest ancestor that has one."""
        table = self.key_marks if key else self.marks
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.marks:
                return self.marks[probe]
            probe = probe[:-1]
        return self.marks.get((), (1, 1))

    def problem(self, path: PathKey, message: str, hint: str = "", *, key: bool = False) -> Problem:
        line, column = self.where(path, key=key)
        return Problem(self.path, line, column, message, hint)


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, doc: SourceDoc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.doc.marks[path] = _position(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        seen: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(self.doc.path, *_position(key_node), "YAML merge keys (<<) are not supported",
                            "write the keys out")
                )
                continue
            key = self._scalars.construct_object(key_node, deep=True)
            text = _key_text(key)
            if text in seen:
                line, column = seen[text]
                self.problems.append(
                    Problem(self.doc.path, *_position(key_node), f"duplicate key '{text}'",
                            f"it is already given at line {line}, column {column}; remove one of them")
                )
                continue
            seen[text] = _position(key_node)
            child: PathKey = (*path, text)
            self.doc.key_marks[child] = _position(key_node)
            result[key] = self.build(value_node, child)
        return result


def _key_text(key: Any) -> str:
    """Keys as text, the way the models see them (YAML 1.1 turns `1:` into an int)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def load_yaml(path: Path, *, display: str | None = None) -> tuple[SourceDoc, list[Problem]]:
    """Load one YAML file. Syntax errors come back as problems, never as exceptions."""
    name = display or str(path)
    doc = SourceDoc(name, None)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return doc, [Problem(name, 1, 1, f"cannot read file: {exc}", "check the path and that it is UTF-8")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        return doc, [Problem(name, line, column, message, _syntax_hint(exc))]
    except yaml.YAMLError as exc:
        return doc, [Problem(name, 1, 1, f"YAML error: {exc}", "check the file's syntax")]
    if root is None:
        doc.data = {}
        return doc, []
    builder = _Builder(doc)
    try:
        doc.data = builder.build(root, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return doc, [Problem(name, line, column, f"YAML value error: {exc.problem}", "quote the value")]
    return doc, builder.problems


def _syntax_hint(exc: yaml.MarkedYAMLError) -> str:
    problem = (exc.problem or "").lower()
    if "tab" in problem or "'\\t'" in problem:  # PyYAML says "found character '\\t' ..."
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted, or the indentation is off"
    if "found character" in problem and "'#'" in str(exc):
        return "quote keys and values that contain # or *"
    if "could not find expected ':'" in problem or "expected <block end>" in problem:
        return "check the indentation of this line and the one before"
    if "found undefined alias" in problem or "alias" in problem:
        return "quote values that start with * (e.g. '*45')"
    return "check quoting and indentation near this position"


def walk_strings(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, Any]]:
    """Every leaf value with its path (used by checks that look at all values)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk_strings(value, (*path, _key_text(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk_strings(value, (*path, index))
    else:
        yield path, data
