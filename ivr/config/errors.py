"""Turn pydantic's validation errors into problems an admin can act on."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from ivr.config.problems import Problem
from ivr.config.yamlsource import PathKey, SourceDoc, _key_text


def problems_from_validation(
    doc: SourceDoc, error: ValidationError, prefix: PathKey, model: type[BaseModel] | None
) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        on_key = "[key]" in item["loc"]
        raw: PathKey = (*prefix, *[part for part in item["loc"] if part != "[key]"])
        path = _source_path(doc.data, raw)
        loc = list(path[len(prefix):])
        message, hint = _explain(item, loc, model)
        problems.append(doc.problem(path, message, hint, key=on_key or item["type"] == "extra_forbidden"))
    return problems


def _source_path(data: Any, raw: PathKey) -> PathKey:
    """The path as the marks know it. pydantic reports a key YAML read as a number or a boolean
    (`1:`, `on:`) as an int, while the marks use the key's text ("1", "true")."""
    path: list[str | int] = []
    current = data
    for part in raw:
        if isinstance(current, dict):
            key = next((k for k in current if k == part or _key_text(k) == str(part)), None)
            if key is None:
                path.append(str(part))
                current = None
                continue
            path.append(_key_text(key))
            current = current[key]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        else:
            path.append(part if isinstance(part, int) else str(part))
            current = None
    return tuple(path)


def _explain(item: Any, loc: list[Any], model: type[BaseModel] | None) -> tuple[str, str]:
    kind = item["type"]
    field = ".".join(str(p) for p in loc) or "(top level)"
    value = item.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else f"allowed fields: {', '.join(allowed)}"
        return f"unknown field '{loc[-1]}'", hint
    if kind == "missing":
        return f"missing required field '{field}'", f"add `{loc[-1]}:` here"
    if kind == "string_type" and isinstance(value, bool):
        return f"{field}: YAML read this as {str(value).lower()}", "quote it (YAML 1.1 reads on/off/yes/no as booleans)"
    if kind == "string_type" and isinstance(value, int):
        return (
            f"{field}: YAML read this as the number {value}",
            'quote it, e.g. "+46403410000" or "07:00-18:00" (unquoted numbers and times lose their form)',
        )
    if kind == "string_pattern_mismatch":
        return f"{field}: '{value}' is not allowed here", _pattern_hint(loc)
    return f"{field}: {item['msg']}", "see the format described in the README"


def _pattern_hint(loc: list[Any]) -> str:
    names = {str(p) for p in loc}
    if names & {"options"}:
        return "a key is one of 0-9, * or #; quote * and # (e.g. '*')"
    if names & {"numbers", "main_number", "target"}:
        return 'use E.164 with a plus, e.g. "+46403410000", or a short extension'
    if names & {"languages", "default_language"}:
        return "use a language code such as sv, en or ar"
    return "check spelling: names use letters, digits and _"


def _allowed_fields(model: type[BaseModel] | None, loc: Iterable[Any]) -> list[str]:
    current: Any = model
    for part in loc:
        if current is None or not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            # A dict of models (e.g. schedules.<name>): step into the value type.
            continue
        current = _inner_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
