"""Caller ID, uniqueid and the dialled number are untrusted text: hostile values through the real
daemon's inbound route (Asterisk faked on the wire) change no AGI command, no SQL, no log line and
no MQTT topic, and leave no number in clear. The real-Asterisk version of this is
tests/integration/test_security_callerid.py."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from ivr.daemon import Daemon
from ivr.events.mqtt import MessageBuilder, topic_segment
from ivr.events.sink import MemorySink
from ivr.logs import configure_logging
from ivr.records import store
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.testing.fake_asterisk import FakeChannel, agi_headers, fake_call

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}
SCHOOL = ["1", "1"]  # Swedish, then preschool and school
HOSTILE_CALLERS = [
    "'; DROP TABLE call_records;--",
    "../../etc/passwd",
    "+/#",
    '"+46701234567" <sip:x@y>\\',
    "9" * 300,
    "+46 70-123 45 67",
    "$SYS/broker/+/#",
    "%s%n%x{uniqueid}",
    "\u202e+46709876543",
]
NUMBER_DIGITS = ["46701234567", "701234567", "46709876543", "709876543", "9" * 12]


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("debug", stream=buffer)
    yield buffer
    structlog.reset_defaults()


@pytest.fixture
async def daemon(tmp_path: Path, log: io.StringIO) -> AsyncIterator[Daemon]:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True,
                        ami_secret="", mqtt_host="", wallboard_port=0, db_url="")
    running = Daemon(settings)
    running.app.events.add(MemorySink())  # type: ignore[attr-defined]
    try:
        await running.start()
        yield running
    finally:
        await running.stop(grace=1)


def events_of(daemon: Daemon) -> MemorySink:
    sinks = [s for s in daemon.app.events.sinks if isinstance(s, MemorySink)]  # type: ignore[attr-defined]
    return sinks[0]


async def raw_call(port: int, headers: bytes, keys: list[str]) -> list[str]:
    """fake_call with header bytes of our choosing (non-UTF-8, line breaks): the commands received."""
    channel = FakeChannel(keys, variables=WEEKDAY)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(headers)
    commands: list[str] = []
    try:
        while raw := await asyncio.wait_for(reader.readline(), 10):
            line = raw.decode().rstrip("\n")
            commands.append(line)
            writer.write(channel.answer(line).text.encode() + b"\n")
            await writer.drain()
    except ConnectionResetError:
        pass
    finally:
        writer.close()
    return commands


async def test_hostile_caller_ids_are_served_and_change_nothing(daemon: Daemon, log: io.StringIO,
                                                                tmp_path: Path) -> None:
    results = await asyncio.gather(*(
        fake_call(daemon.server.port, caller=caller, keys=SCHOOL, variables=WEEKDAY, uniqueid=f"hostile.{i}")
        for i, caller in enumerate(HOSTILE_CALLERS)))
    for caller, result in zip(HOSTILE_CALLERS, results, strict=True):
        assert result.variables["IVR_RESULT"] == "queue" and result.variables["IVR_QUEUE"] == "kc-school", caller
        assert not [c for c in result.commands if caller in c or "DROP" in c or "passwd" in c], caller
    await asyncio.wait_for(daemon.records.flushed.wait(), 10)
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        records = {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}
        tables = {row[0] for row in db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()
    assert "call_records" in tables
    assert {f"hostile.{i}" for i in range(len(HOSTILE_CALLERS))} <= set(records)
    refs = {records[f"hostile.{i}"]["caller_ref"] for i in range(len(HOSTILE_CALLERS))}
    assert all(re.fullmatch(r"[0-9a-f]{12}", str(ref)) for ref in refs)

    text = log.getvalue()
    lines = text.splitlines()
    assert all(json.loads(line) for line in lines)  # no caller value broke a log line
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("ivr.db*"))
    builder = MessageBuilder("malmo")
    messages = [builder.build(event, None, {**data, "uniqueid": uniqueid or data.get("uniqueid", "")})
                for event, uniqueid, data in events_of(daemon).events]
    assert messages
    for digits in NUMBER_DIGITS:
        assert digits not in text.replace(" ", "").replace("-", ""), digits
        assert digits.encode() not in stored, digits
        assert all(digits.encode() not in m.payload for m in messages), digits
    for caller in ("'; DROP TABLE", "../../etc/passwd", "$SYS"):
        assert caller not in text and caller.encode() not in stored
    assert all(m.topic.startswith("ivr/malmo/") and "+" not in m.topic and "#" not in m.topic for m in messages)


async def test_hostile_uniqueid_and_dialled_number_stay_data(daemon: Daemon, log: io.StringIO,
                                                             tmp_path: Path) -> None:
    uniqueid = "../../x/+/#'; DROP TABLE call_records;--"
    result = await fake_call(daemon.server.port, uniqueid=uniqueid, dnid="4034100'; --", keys=SCHOOL,
                             variables=WEEKDAY)
    assert result.variables["IVR_RESULT"] == "queue"  # an unknown number gets the main number's plan
    await asyncio.wait_for(daemon.records.flushed.wait(), 10)
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        assert [r["uniqueid"] for r in store.fetch(db, 0, 2**40)] == [uniqueid]
    finally:
        db.close()
    builder = MessageBuilder("malmo")
    topics = {builder.build(event, None, {**data, "uniqueid": uid or ""}).topic
              for event, uid, data in events_of(daemon).events}
    level = topic_segment(uniqueid)
    assert "/" not in level and "+" not in level and "#" not in level
    assert topics and all(t.split("/")[:4] == ["ivr", "malmo", "calls", level] and t.count("/") == 4 for t in topics)


async def test_a_line_break_in_a_header_ends_the_session_before_any_command(daemon: Daemon,
                                                                            log: io.StringIO) -> None:
    headers = agi_headers("inbound", uniqueid="inject.1", caller="+4670\n200 result=1", dnid="4034100",
                          port=daemon.server.port)
    assert await raw_call(daemon.server.port, headers, SCHOOL) == []
    text = log.getvalue()
    assert "agi.bad_headers" in text and "inject.1" not in text


async def test_non_utf8_caller_id_is_served(daemon: Daemon, log: io.StringIO) -> None:
    headers = agi_headers("inbound", uniqueid="latin.1", caller="CALLER", dnid="4034100", port=daemon.server.port)
    headers = headers.replace(b"CALLER", b"\xff\xfe\xe5\xe4\xf6 +46701234567")
    commands = await raw_call(daemon.server.port, headers, SCHOOL)
    assert commands[-1] == 'SET VARIABLE "IVR_RESULT" "queue"'
    assert "46701234567" not in log.getvalue()
