"""JSON Schemas for editors: generated from the models, valid for the shipped config, and strict on the
mistakes the checker also rejects (those a schema can express)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ivr.cli import main
from ivr.config import ConfigError
from ivr.engine.nodes import NODE_KINDS
from ivr.schema import all_schemas, plan_schema, schema_text
from ivr.validate import load_config

Break = Callable[[str, str, str], Path]
REPO = Path(__file__).resolve().parents[2]
PLAN, RULES, AGENTS, GROUPS = "dialplans/mini.yaml", "routing_rules.yaml", "agents/agents.yaml", "agents/groups.yaml"
SCHEMA_OF = {"dialplans": "plan.schema.json", "agents": "agents.schema.json", ".": "routing_rules.schema.json"}


def editor_view(data: Any) -> Any:
    """YAML as editors read it (YAML 1.2: a date is a string)."""
    if isinstance(data, dict):
        return {str(k): editor_view(v) for k, v in data.items()}
    if isinstance(data, list):
        return [editor_view(v) for v in data]
    return data.isoformat() if isinstance(data, dt.date) else data


def schema_errors(path: Path) -> list[str]:
    folder = path.parent.name if path.parent.name in SCHEMA_OF else "."
    schema = json.loads((REPO / "schemas" / SCHEMA_OF[folder]).read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    data = editor_view(yaml.safe_load(path.read_text(encoding="utf-8")))
    return [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(data)]


SHIPPED = ["dialplans/main.yaml", "routing_rules.yaml", "agents/agents.yaml", "agents/groups.yaml"]


@pytest.mark.parametrize("relative", SHIPPED)
def test_shipped_config_is_valid(relative: str) -> None:
    assert schema_errors(REPO / relative) == []


@pytest.mark.parametrize("relative", [PLAN, RULES, AGENTS, GROUPS])
def test_minimal_fixture_is_valid(config_tree: Path, relative: str) -> None:
    assert schema_errors(config_tree / relative) == []


BROKEN = {
    "unknown node kind": (PLAN, "    kind: transfer\n", "    kind: transfr\n"),
    "unknown node field": (PLAN, "    kind: transfer\n", "    kind: transfer\n    number: \"+46401111111\"\n"),
    "unquoted phone number": (PLAN, 'numbers: ["+46401234567"]', "numbers: [+46401234567]"),
    "two-digit DTMF key": (PLAN, '"2": transfer_out', '"22": transfer_out'),
    "letter as DTMF key": (PLAN, '"2": transfer_out', '"A": transfer_out'),
    "menu without fallback": (PLAN, "    fallback: queue_general\n", ""),
    "misspelt top-level field": (PLAN, "default_language: sv", "default_langauge: sv"),
    "language name, not code": (PLAN, "default_language: sv", "default_language: Swedish"),
    "transfer to a local number": (PLAN, 'target: "+46401111111"', 'target: "0401111111"'),
    "node id with capitals": (PLAN, "  transfer_out:\n", "  Transfer_Out:\n"),
    "kind as a list": (PLAN, "    kind: transfer\n", "    kind: [transfer]\n"),
    "YAML 1.1 boolean for eves": (RULES, "      tue: [\"08:00-17:00\"]\n",
                                  "      tue: [\"08:00-17:00\"]\n    eves: on\n"),
    "unknown weekday": (RULES, "      tue:", "      tis:"),
    "unquoted main number": (RULES, 'main_number: "+46401234567"', "main_number: +46401234567"),
    "unquoted extension": (AGENTS, 'extension: "2001"', "extension: 2001"),
    "unknown queue strategy": (GROUPS, "    queue: kc-general\n", "    queue: kc-general\n    strategy: fastest\n"),
    "queue name with capitals": (GROUPS, "queue: kc-general", "queue: KC-General"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_schema_rejects_what_the_checker_rejects(config_tree: Path, break_file: Break, case: str) -> None:
    relative, old, new = BROKEN[case]
    break_file(relative, old, new)
    with pytest.raises(ConfigError):
        load_config(["."])
    assert schema_errors(config_tree / relative), f"the schema accepts: {case}"


def test_node_variants_are_the_registered_kinds() -> None:
    schema = plan_schema()
    (node_map,) = schema["properties"]["nodes"]["patternProperties"].values()
    names = [ref["$ref"].rsplit("/", 1)[-1] for ref in node_map["oneOf"]]
    variants = [schema["definitions"][name] for name in names]
    assert [v["properties"]["kind"]["const"] for v in variants] == list(NODE_KINDS)
    assert all(v["required"][0] == "kind" and v["additionalProperties"] is False for v in variants)
    assert variants[1]["description"].startswith("`menu`:")


def test_committed_schemas_match_the_models() -> None:
    for name, schema in all_schemas().items():
        committed = (REPO / "schemas" / name).read_text(encoding="utf-8")
        assert committed == schema_text(schema), f"schemas/{name} is stale: run `ivr schema`"


def test_schema_command_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "schemas"
    assert main(["schema", "--check", "--out", str(out)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["schema", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(all_schemas())
    assert main(["schema", "--check", "--out", str(out)]) == 0
    assert main(["schema", "--check", "--out", str(REPO / "schemas")]) == 0


def test_editors_are_pointed_at_the_schemas() -> None:
    settings = json.loads((REPO / ".vscode/settings.json").read_text(encoding="utf-8"))
    mapping = settings["yaml.schemas"]
    assert mapping["./schemas/plan.schema.json"][0] == "dialplans/*.yaml"
    assert mapping["./schemas/routing_rules.schema.json"] == ["routing_rules.yaml"]
    assert mapping["./schemas/agents.schema.json"][0] == "agents/*.yaml"
    for relative in SHIPPED:
        first = (REPO / relative).read_text(encoding="utf-8").splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, relative
        target = ((REPO / relative).parent / match[1]).resolve()
        assert target.name == SCHEMA_OF[Path(relative).parent.name or "."]
        assert target.is_file()
