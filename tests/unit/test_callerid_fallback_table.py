"""The dialplan's caller-ID table for when the daemon is down: extensions_callerid.conf, generated
from the YAML by `ivr asterisk generate` ([ivr-callerid-table], read by [ivr-outbound-fallback])."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from ivr.asterisk_gen import generate
from ivr.asterisk_gen.callerid import callerid_table
from ivr.callerid.fallback_table import fallback_entries
from ivr.config import ConfigSet

REPO = Path(__file__).resolve().parents[2]
_LINE = re.compile(r"exten => ([0-9]+),1,Return\(([a-z_]+:\+[0-9]+)\)")


def table(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match:
            found[match[1]] = match[2]
    return found


def test_entries_are_each_phones_decision_without_a_purpose(shipped_config: ConfigSet) -> None:
    entries = fallback_entries(shipped_config)
    assert entries["2101"] == "allowed_not_screened:+4640342101"  # the board's default: the direct line
    assert entries["2104"] == "prohib_not_screened:+4640341000"  # withheld stays withheld without the daemon
    assert entries["1001"] == "allowed_not_screened:+4640341000"  # agents: the main number
    assert set(entries) == {o.extension for o in shipped_config.officials.values()} | \
        {a.extension for a in shipped_config.agents.values()}


def test_the_generated_context_has_one_extension_per_phone(shipped_config: ConfigSet) -> None:
    text = generate(shipped_config)["extensions_callerid.conf"]
    assert "\n[ivr-callerid-table]\n" in text
    assert table(text) == fallback_entries(shipped_config)
    # The name shown with a number, as the daemon sets it.
    assert f"exten => name,1,Return({shipped_config.rules.caller_id.name})" in text.splitlines()
    # Every line is a comment, the context, an entry or the name: nothing else reaches the dialplan.
    assert all(line.startswith(";") or line in ("", "[ivr-callerid-table]") or _LINE.fullmatch(line)
               or line == f"exten => name,1,Return({shipped_config.rules.caller_id.name})"
               for line in text.splitlines())


def test_a_name_with_dialplan_syntax_is_left_out(shipped_config: ConfigSet) -> None:
    caller_id = shipped_config.rules.caller_id.model_copy(update={"name": "Malmö stad,x)"})
    config = dataclasses.replace(shipped_config, rules=shipped_config.rules.model_copy(update={"caller_id": caller_id}))
    assert "exten => name," not in callerid_table(config)


def test_the_dialplan_includes_and_reads_the_table() -> None:
    extensions = (REPO / "asterisk-config" / "extensions.conf").read_text()
    assert '#include "extensions_callerid.conf"' in extensions
    assert "DIALPLAN_EXISTS(ivr-callerid-table," in extensions and "Gosub(ivr-callerid-table," in extensions
    assert "DB_EXISTS(ivr_callerid" not in extensions


def test_entries_the_dialplan_would_refuse_are_left_out(shipped_config: ConfigSet) -> None:
    """A pattern (`_X.`) or dialplan syntax must never become an extension or a value."""
    official_id, official = next(iter(shipped_config.officials.items()))
    odd = official.model_copy(update={"extension": "_X."})
    config = dataclasses.replace(shipped_config, officials={**shipped_config.officials, official_id: odd})
    entries = table(callerid_table(config))
    assert "_X." not in callerid_table(config)
    assert official.extension not in entries
    assert len(entries) == len(fallback_entries(shipped_config)) - 1
