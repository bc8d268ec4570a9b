"""`ivr contacts purge|stats` and `ivr simulate --outbound`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.contacts import store
from ivr.contacts.store import Attempt, new_attempt_id
from ivr.privacy import NumberHasher
from ivr.store.db import open_database

REPO = Path(__file__).resolve().parents[2]
HASHER = NumberHasher(b"unit-test-key-0123456789abcdef")


def seed(url: str) -> None:
    db = open_database(url)
    now = time.time()
    for age_days, outcome in ((40, "busy"), (2, "no_answer"), (1, "answered")):
        at = now - age_days * 86400
        store.insert(db, Attempt(new_attempt_id(), HASHER.digest("+46701234567"), at, at + 30 * 86400, "official",
                                 "johan.ek", "education", "person", "main_number", None, outcome))
    db.close()


def test_stats_prints_counts_only_and_is_audited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    seed(url)
    capsys.readouterr()
    assert main(["contacts", "stats", "--db", url, "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["attempts"] == 2 and counts["expired_not_purged"] == 1
    assert counts["by_outcome"] == {"answered": 1, "no_answer": 1}
    assert main(["contacts", "stats", "--db", url]) == 0
    text = capsys.readouterr().out
    assert text.startswith("attempts kept: 2") and "education: 2" in text
    db = open_database(url)
    assert [row[0] for row in db.fetchall("SELECT action FROM contact_audit")] == ["stats", "stats"]
    actor = db.fetchone("SELECT actor FROM contact_audit")
    assert actor is not None and str(actor[0]).startswith("cli")
    db.close()


def test_purge_uses_the_configured_retention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    seed(url)
    capsys.readouterr()
    assert main(["contacts", "purge", "--db", url, "--config", str(REPO), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"attempts_deleted": 1, "audit_rows_deleted": 0}
    assert main(["contacts", "purge", "--db", url, "--config", str(REPO)]) == 0
    assert capsys.readouterr().out.startswith("purged 0 attempt(s) older than 30 days")


def test_simulate_outbound_shows_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["simulate", "--config", str(REPO), "--outbound", "--from-extension", "2101",
                 "--to", "+46701234567"]) == 0
    out = capsys.readouterr().out
    assert "decided by: default for officials" in out
    assert "CALLERID(num)=+4640342101" in out and "registered: no" in out
    assert "701234567" not in out.replace("+467******67", "")
    assert main(["simulate", "--config", str(REPO), "--outbound", "--from-extension", "2102",
                 "--to", "*8100701234567", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["shown"], found["purpose"], found["registered"], found["to"]) == \
        ("main_number", "callback", True, "070*****67")


@pytest.mark.parametrize(("args", "message"), [
    (["--from-extension", "9999", "--to", "0701234567"], "no official or agent has extension 9999"),
    (["--from-extension", "2101", "--to", "07-abc"], "is not a number to dial"),
    (["--from-extension", "2101", "--to", "*8990701234567"], "unknown purpose '99'"),
    (["--from-extension", "2101", "--to", "0701234567", "--purpose", "gossip"], "unknown purpose 'gossip'"),
])
def test_simulate_outbound_explains_what_it_cannot_decide(capsys: pytest.CaptureFixture[str], args: list[str],
                                                          message: str) -> None:
    capsys.readouterr()
    assert main(["simulate", "--config", str(REPO), "--outbound", *args]) == 2
    assert message in capsys.readouterr().out
