"""The daemon↔dialplan contract (ivr/dialplan_variables.py) against asterisk-config/extensions*.conf, both
ways, and against the daemon's code: no IVR_* channel variable is spelt as a string outside the module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ivr import dialplan_variables
from ivr.dialplan_variables import DAEMON_ONLY, DIALPLAN_ONLY, IVR_TAG_PREFIX, SHARED

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bIVR_[A-Z0-9_]*[A-Z0-9]\b")


def dialplan_names() -> set[str]:
    """Every IVR_* name in the shipped dialplan (extensions.conf and the files it includes)."""
    return {name for path in (REPO / "asterisk-config").glob("extensions*.conf")
            for name in NAME.findall(path.read_text(encoding="utf-8"))}


def test_every_variable_of_the_dialplan_is_in_the_contract() -> None:
    assert sorted(dialplan_names() - SHARED - DIALPLAN_ONLY) == []


def test_every_variable_of_the_contract_is_in_the_dialplan() -> None:
    assert sorted((SHARED | DIALPLAN_ONLY) - dialplan_names()) == []


def test_what_only_the_daemon_uses_is_not_in_the_dialplan() -> None:
    assert sorted(DAEMON_ONLY & dialplan_names()) == []
    assert not any(name.startswith(IVR_TAG_PREFIX) for name in dialplan_names())


def test_each_constant_is_its_own_name() -> None:
    constants = {name: value for name, value in vars(dialplan_variables).items() if name.startswith("IVR_")}
    assert {name for name, value in constants.items() if value != name} == {"IVR_TAG_PREFIX"}
    # Constants for the daemon's variables, and for the dialplan settings `ivr asterisk generate` writes.
    assert set(constants.values()) - {IVR_TAG_PREFIX} == SHARED | DAEMON_ONLY | (DIALPLAN_ONLY & set(constants))


def test_the_daemon_names_channel_variables_only_through_the_module() -> None:
    known = SHARED | DAEMON_ONLY | DIALPLAN_ONLY
    spelt = []
    for path in sorted((REPO / "ivr").rglob("*.py")):
        if path.name == "dialplan_variables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    node.value in known or node.value.startswith(IVR_TAG_PREFIX)):
                spelt.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert spelt == []
