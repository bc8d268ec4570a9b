"""`ivr messages` / `ivr switch` / `ivr simulate` with steering: the request checked before anything is
touched, only supervisors (of the group) allowed, the service writing AstDB, sounds, store and audit, and
what `list`, `audit`, `switch status` and `simulate` show."""

from __future__ import annotations

import datetime as dt
import json
import wave
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.cli import main
from ivr.config import ConfigSet
from ivr.steering import store
from ivr.steering.entry import Entry
from ivr.steering.publish import SoundPlace
from ivr.steering.service import NotAllowed, authorise, clear_entry, set_entry
from ivr.steering.spec import spec_from_options
from ivr.store.db import open_database
from ivr.testing.fake_ami import FakeAmi

REPO = Path(__file__).resolve().parents[2]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
TEXTS = ["sv=Vi vet om vattenläckan.", "en=We know about the water outage.", "ar=نعلم بانقطاع المياه."]


def ivr(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args, "--config", str(REPO)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_bad_request_is_refused_at_file_line_before_asterisk_is_asked(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_AMI_PORT", "1")  # nothing listens: a request that got that far would fail there
    notice = tmp_path / "notice.yaml"
    notice.write_text("text: {sv: Hej}\nuntil: tomorrow\n", encoding="utf-8")
    code, out, err = ivr(capsys, "messages", "set", str(notice), "--supervisor", "lena.strand",
                         "--db", f"sqlite:///{tmp_path / 'ivr.db'}")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{notice}:1:1: error: no message for en, ar (hint: callers hear the menu in sv, en, ar: give text: or "
        "recording: for each)",
        f"{notice}:2:8: error: until: 'tomorrow' is not a date and time (hint: write e.g. 2026-12-01T08:00 (city "
        "time))",
    ]
    assert not (tmp_path / "ivr.db").exists()


def test_only_supervisors_and_of_that_group(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            shipped_config: ConfigSet) -> None:
    code, _, err = ivr(capsys, "switch", "close", "--supervisor", "anna.andersson", *[f"--text={t}" for t in TEXTS],
                       "--db", f"sqlite:///{tmp_path / 'ivr.db'}")
    assert code == 2 and "not allowed: 'anna.andersson' is not a supervisor" in err
    code, _, err = ivr(capsys, "switch", "close", "--group", "building", "--supervisor", "lena.strand",
                       *[f"--text={t}" for t in TEXTS], "--db", f"sqlite:///{tmp_path / 'ivr.db'}")
    assert code == 2 and "lena.strand supervises general, social, school, not building" in err
    authorise(shipped_config, "lena.strand", None)  # the whole line: any supervisor
    with pytest.raises(NotAllowed):
        authorise(shipped_config, "lena.strand", "streets")


async def test_set_and_clear_write_astdb_sounds_store_and_audit(shipped_config: ConfigSet, tmp_path: Path) -> None:
    ami = FakeAmi()
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    place = SoundPlace("/var/lib/asterisk/ivr-steer", tmp_path / "root")
    now = dt.datetime(2026, 11, 30, 17, 0, tzinfo=STOCKHOLM)
    spec = spec_from_options("message", shipped_config, now=now, group="school", starts=None,
                             ends="2026-11-30T20:00", texts=TEXTS, recordings=[])
    entry = await set_entry(ami, db, shipped_config, spec, place, actor="lena.strand", via="cli:root", now=now)
    assert ami.astdb == {"ivr-steer/message/queue/kc-school": entry.value()}
    assert entry.value().startswith(f"{int(now.timestamp())}|{int(now.timestamp()) + 3 * 3600}|"
                                    "/var/lib/asterisk/ivr-steer/message-school-20261130170000-")
    for language in ("sv", "en", "ar"):
        with wave.open(str(place.local(entry.sound_dir) / f"{language}.wav")) as audio:
            assert audio.getframerate() == 8000 and audio.getnchannels() == 1 and audio.getnframes() > 8000
    assert await clear_entry(ami, db, shipped_config, "message", "school", actor="lena.strand", via="cli:root")
    assert ami.astdb == {} and store.entries(db) == []
    assert not await clear_entry(ami, db, shipped_config, "message", "school", actor="lena.strand", via="cli:root")
    actions = [(row.actor, row.action, row.target, row.detail.get("was_set")) for row in store.audit_rows(db)]
    assert actions == [("lena.strand", "message.clear", "group:school", False),
                       ("lena.strand", "message.clear", "group:school", True),
                       ("lena.strand", "message.set", "group:school", None)]
    db.close()


def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    db = open_database(url)
    start = dt.datetime(2026, 12, 22, 9, 0, tzinfo=STOCKHOLM)
    message = Entry("message", None, int(start.timestamp()), int(start.timestamp()) + 3 * 3600,
                          "/var/lib/asterisk/ivr-steer/message-all-x", ("sv", "en", "ar"))
    closed = Entry("switch", "kc-social", 0, 0, "/var/lib/asterisk/ivr-steer/switch-social-x", ("sv",))
    with db.transaction():
        store.save(db, store.StoredEntry(message, "", {"sv": "Vattenläcka i Limhamn"}, "lena.strand", 1.0))
        store.save(db, store.StoredEntry(closed, "social", {"sv": "Stängt"}, "lena.strand", 2.0))
        store.audit(db, actor="lena.strand", via="cli:root", action="switch.set", target="group:social",
                    detail={"text": {"sv": "Stängt"}})
    db.close()
    return url


def test_list_status_and_audit_show_what_is_set(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = seeded(tmp_path)
    code, out, _ = ivr(capsys, "messages", "list", "--json", "--db", url)
    rows = json.loads(out)
    assert code == 0 and [(r["kind"], r["scope"], r["until"]) for r in rows] == [
        ("message", "line", "2026-12-22T12:00+01:00"), ("switch", "group:social", None)]
    code, out, _ = ivr(capsys, "switch", "status", "--db", url)
    assert code == 0 and out.splitlines()[0].split()[:3] == ["switch", "group:social", "closed"]
    code, out, _ = ivr(capsys, "messages", "audit", "--db", url)
    assert code == 0 and "lena.strand" in out and "switch.set" in out and "group:social" in out


def test_simulate_shows_the_steering(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = seeded(tmp_path)
    code, out, _ = ivr(capsys, "simulate", "--db", url, "--at", "2026-12-22T10:00", "--keys", "2,2,1")
    lines = out.splitlines()
    assert code == 0
    assert "→ @message [message]" in lines
    assert "    plays 'message:all' in en (/var/lib/asterisk/ivr-steer/message-all-x/en)" in lines
    assert "→ @switch:social [switch]" in lines and "    group social is switched off (ivr switch)" in lines
    assert lines[-1].startswith("outcome: message (switched off: group social)")
    code, out, _ = ivr(capsys, "simulate", "--db", url, "--at", "2026-12-22T12:00", "--keys", "2,4", "--json")
    assert code == 0 and "@message" not in json.loads(out)["nodes"]  # the window is over
    code, out, _ = ivr(capsys, "simulate", "--db", url, "--no-steering", "--at", "2026-12-22T10:00", "--keys", "2,2,1")
    assert "@" not in out and "queue" in out.splitlines()[-1]
