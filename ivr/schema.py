"""JSON Schemas of the three YAML formats, generated from the pydantic models, for editors.

The loader validates each plan node by its `kind`; the schema says the same with a `oneOf` over
`ivr.engine.nodes.NODE_KINDS`, each variant requiring its `kind` constant. Draft-07 is declared because
that is what the common YAML editor extensions implement.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ivr.config.model import GroupsFile, RoutingRules
from ivr.config.plan import PlanHeader
from ivr.engine.nodes import NODE_KINDS

DRAFT = "http://json-schema.org/draft-07/schema#"
REF = "#/definitions/{model}"
FILES = {
    "plan": ("plan.schema.json", "An IVR plan (dialplans/*.yaml)"),
    "routing_rules": ("routing_rules.schema.json", "Routing rules: schedules, default group, system prompts"),
    "agents": ("agents.schema.json", "Agent groups and agents (agents/*.yaml)"),
}


def plan_schema() -> dict[str, Any]:
    schema = _model_schema(PlanHeader)
    keys, nodes = models_json_schema([(cls, "validation") for cls in NODE_KINDS.values()], ref_template=REF)
    definitions = schema.setdefault("definitions", {})
    definitions.update(nodes.get("$defs", {}))
    variants = []
    for kind, cls in NODE_KINDS.items():
        name = keys[(cls, "validation")]["$ref"].rsplit("/", 1)[-1]
        variant = definitions[name]
        # `kind` has a default in the model (the loader picks the class by it), but a file must state it.
        variant["required"] = ["kind", *[f for f in variant.get("required", []) if f != "kind"]]
        variant["description"] = (sys.modules[cls.__module__].__doc__ or kind).strip()
        variants.append({"$ref": REF.format(model=name)})
    node_map = schema["properties"]["nodes"]
    for pattern in node_map.get("patternProperties", {}):
        node_map["patternProperties"][pattern] = {"oneOf": variants}
    return _finish(schema, FILES["plan"][1])


def rules_schema() -> dict[str, Any]:
    return _finish(_model_schema(RoutingRules), FILES["routing_rules"][1])


def agents_schema() -> dict[str, Any]:
    return _finish(_model_schema(GroupsFile), FILES["agents"][1])


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema."""
    made = {"plan": plan_schema(), "routing_rules": rules_schema(), "agents": agents_schema()}
    return {FILES[key][0]: schema for key, schema in made.items()}


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = out_dir / name
        path.write_text(schema_text(schema), encoding="utf-8")
        written.append(path)
    return written


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF)
    if "$defs" in schema:
        schema["definitions"] = schema.pop("$defs")
    return schema


def _finish(schema: dict[str, Any], title: str) -> dict[str, Any]:
    _close_key_patterns(schema)
    return {"$schema": DRAFT, "title": title,
            **{k: v for k, v in schema.items() if k != "title"}}


def _close_key_patterns(schema: Any) -> None:
    """pydantic writes a dict with constrained keys (DTMF keys, node ids, names) as `patternProperties`
    only, which lets any other key through; the loader rejects those keys, so the schema must too."""
    if isinstance(schema, dict):
        if "patternProperties" in schema and "properties" not in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _close_key_patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            _close_key_patterns(value)
