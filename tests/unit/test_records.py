"""Call records from scripted event sequences, on SQLite and on the real PostgreSQL (database `test`,
a schema of the test's own, dropped after), and the spool while the database is away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ivr.events import names
from ivr.records import store
from ivr.records.recorder import CallRecorder
from ivr.records.writer import RecordWriter, with_connect_timeout
from ivr.store.db import open_database
from ivr.testing.postgres import pg_schema

CALLER = "+46701234567"
T0 = 1_793_000_000.0  # 2026-10-26, a Monday
WAIT = 10.0


@dataclass
class FakeCall:
    uniqueid: str
    started: float
    caller_ref: str = "ref123456789"
    caller_masked: str = "+467*******67"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now






@pytest.fixture
async def writer(db_url: str, tmp_path: Path) -> AsyncIterator[RecordWriter]:
    running = RecordWriter(db_url, tmp_path / "spool.jsonl", retry_s=0.2)
    await running.start()
    yield running
    await running.stop()


def rows(url: str) -> dict[str, dict[str, Any]]:
    db = open_database(url)
    try:
        return {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}
    finally:
        db.close()


class Script:
    """Plays one call's events into the recorder with a controlled clock."""

    def __init__(self, recorder: CallRecorder, clock: Clock, uniqueid: str) -> None:
        self.recorder, self.clock, self.uniqueid = recorder, clock, uniqueid
        self.call = FakeCall(uniqueid, clock.now)

    def at(self, offset: float) -> Script:
        self.clock.now = self.call.started + offset
        return self

    def ivr(self, event: str, **data: Any) -> Script:
        self.recorder.emit(event, self.call, **data)  # type: ignore[arg-type]
        return self

    def ami(self, event: str, **data: Any) -> Script:
        self.recorder.emit(event, None, uniqueid=self.uniqueid, **data)
        return self

    def menu(self, outcome: str, *, queue: str | None = None, reason: str = "", language: str = "sv",
             tags: dict[str, str] | None = None, nodes: tuple[str, ...] = ("welcome", "main_menu")) -> Script:
        return self.ivr(names.MENU_FINISHED, outcome=outcome, queue=queue, group=None, target=None, reason=reason,
                        language=language, tags=tags or {}, nodes=list(nodes), config_version="cfg-1")


SCHOOL = {"department": "education", "service": "preschool_school"}


def play_day(recorder: CallRecorder, clock: Clock) -> None:
    # Answered after 20 s in kc-school, 40 s of talk, 5 s of wrap-up.
    (Script(recorder, clock, "answered")
     .ivr(names.CALL_STARTED, plan="main", dialled="4034100", caller_ref="ref123456789")
     .at(1).ivr(names.IVR_NODE, node="welcome", kind="play")
     .at(2).ivr(names.LANGUAGE_CHOSEN, language="en")
     .at(10).menu("queue", queue="kc-school", language="en", tags=SCHOOL,
                  nodes=("welcome", "choose_language", "main_menu", "tag_school", "queue_school"))
     .at(11).ami(names.QUEUED, queue="kc-school", position=2, caller_ref="ref123456789")
     .at(20).ami(names.POSITION_CHANGED, queue="kc-school", position=1)
     .at(31).ami(names.ANSWERED, queue="kc-school", agent="Agent 2001", wait_s=20)
     .at(71).ami(names.CALL_ENDED, duration_s=71, talk_s=40, wrapup_s=5))
    clock.now = T0 + 100
    # Abandoned after 30 s at position 2.
    (Script(recorder, clock, "abandoned").ivr(names.CALL_STARTED, plan="main")
     .at(8).menu("queue", queue="kc-school", tags=SCHOOL)
     .at(9).ami(names.QUEUED, queue="kc-school", position=2)
     .at(39).ami(names.ABANDONED, queue="kc-school", wait_s=30, position=2)
     .at(39.5).ami(names.CALL_ENDED, duration_s=39.5))
    clock.now = T0 + 200
    # Abandoned after 3 s: the city leaves these out of the service level.
    (Script(recorder, clock, "short").ivr(names.CALL_STARTED, plan="main")
     .at(8).menu("queue", queue="kc-general", tags={"department": "contact_center", "service": "general"})
     .at(9).ami(names.QUEUED, queue="kc-general", position=1)
     .at(12).ami(names.ABANDONED, queue="kc-general", wait_s=3, position=1)
     .at(12.2).ami(names.CALL_ENDED, duration_s=12.2))
    clock.now = T0 + 300
    (Script(recorder, clock, "callback").ivr(names.CALL_STARTED, plan="main")
     .at(8).menu("queue", queue="kc-social", tags={"department": "social_services", "service": "elder_care"})
     .at(9).ami(names.QUEUED, queue="kc-social", position=4)
     .at(60).ami(names.CALLBACK_REQUESTED, queue="kc-social", callback_id="cb-1")
     .at(61).ami(names.CALL_ENDED, duration_s=61))
    clock.now = T0 + 400
    (Script(recorder, clock, "closed").ivr(names.CALL_STARTED, plan="main")
     .at(15).menu("message", reason="closed_hours", nodes=("welcome", "opening_hours", "closed_message"))
     .at(16).ami(names.CALL_ENDED, duration_s=16))
    clock.now = T0 + 500
    # Hung up mid-menu; AMI's hang-up beats the route's menu_finished.
    (Script(recorder, clock, "midmenu").ivr(names.CALL_STARTED, plan="main")
     .at(3).ivr(names.IVR_NODE, node="welcome", kind="play")
     .at(5).ivr(names.IVR_NODE, node="main_menu", kind="menu")
     .at(6).ami(names.CALL_ENDED, duration_s=6)
     .at(6.1).menu("abandoned", nodes=("welcome", "main_menu")))


async def test_scripted_calls_give_the_expected_records(db_url: str, writer: RecordWriter) -> None:
    clock = Clock()
    recorder = CallRecorder(writer, clock=clock)
    play_day(recorder, clock)
    await asyncio.wait_for(writer.flushed.wait(), WAIT)
    got = rows(db_url)
    assert set(got) == {"answered", "abandoned", "short", "callback", "closed", "midmenu"}
    a = got["answered"]
    assert {k: a[k] for k in ("outcome", "queue", "agent", "wait_s", "talk_s", "wrapup_s", "total_s", "language",
                              "department", "service", "plan", "config_version", "caller_ref")} == {
        "outcome": "answered", "queue": "kc-school", "agent": "Agent 2001", "wait_s": 20.0, "talk_s": 40.0,
        "wrapup_s": 5.0, "total_s": 71.0, "language": "en", "department": "education",
        "service": "preschool_school", "plan": "main", "config_version": "cfg-1", "caller_ref": "ref123456789"}
    assert (a["started"], a["enqueued_at"], a["answered_at"], a["ended"]) == (T0, T0 + 11, T0 + 31, T0 + 71)
    assert json.loads(a["path"]) == ["welcome", "choose_language", "main_menu", "tag_school", "queue_school"]
    assert json.loads(a["tags"]) == SCHOOL
    assert {k: got["abandoned"][k] for k in ("outcome", "abandoned_after_s", "abandoned_position", "wait_s")} == {
        "outcome": "abandoned", "abandoned_after_s": 30.0, "abandoned_position": 2, "wait_s": None}
    assert (got["short"]["outcome"], got["short"]["abandoned_after_s"]) == ("abandoned", 3.0)
    assert (got["callback"]["outcome"], got["callback"]["queue"]) == ("callback", "kc-social")
    assert (got["closed"]["outcome"], got["closed"]["reason"], got["closed"]["total_s"]) == (
        "closed_hours", "closed_hours", 16.0)
    m = got["midmenu"]
    assert (m["outcome"], m["total_s"], json.loads(m["path"])) == ("menu_hangup", 6.0, ["welcome", "main_menu"])
    assert all(CALLER not in json.dumps(r) for r in got.values())


async def test_mid_menu_hangup_is_recorded_even_without_call_ended(db_url: str, writer: RecordWriter) -> None:
    clock = Clock()
    recorder = CallRecorder(writer, clock=clock)
    Script(recorder, clock, "gone").ivr(names.CALL_STARTED, plan="main").at(4).menu("abandoned")
    await asyncio.wait_for(writer.flushed.wait(), WAIT)
    record = rows(db_url)["gone"]
    assert (record["outcome"], record["ended"]) == ("menu_hangup", None)


async def test_the_number_never_reaches_the_database_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    writer = RecordWriter(url, tmp_path / "spool.jsonl")
    await writer.start()
    clock = Clock()
    play_day(CallRecorder(writer, clock=clock), clock)
    await writer.stop()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"answered" in blob  # the file really holds the records
    for form in (CALLER, CALLER[1:], "0701234567", "701234567"):
        assert form.encode() not in blob


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_database_spools_and_a_later_start_replays(tmp_path: Path) -> None:
    spool = tmp_path / "records-spool.jsonl"
    down = RecordWriter(f"postgresql://postgres@127.0.0.1:{closed_port()}/test", spool, retry_s=60)
    await down.start()
    clock = Clock()
    play_day(CallRecorder(down, clock=clock), clock)
    await asyncio.wait_for(down.flushed.wait(), WAIT)
    await down.stop()
    assert down.written == 0 and down.spooled > 0
    lines = spool.read_text().splitlines()
    assert {json.loads(line)["row"]["uniqueid"] for line in lines} >= {"answered", "midmenu"}
    assert CALLER not in spool.read_text()
    with pg_schema() as url:
        up = RecordWriter(url, spool, retry_s=0.2)
        await up.start()
        await asyncio.wait_for(up.db_up.wait(), WAIT)
        await asyncio.wait_for(up.flushed.wait(), WAIT)
        await up.stop()
        got = rows(url)
    assert not spool.exists()
    assert up.replayed == len(lines)
    assert {u: r["outcome"] for u, r in got.items()} == {
        "answered": "answered", "abandoned": "abandoned", "short": "abandoned", "callback": "callback",
        "closed": "closed_hours", "midmenu": "menu_hangup"}


class Proxy:
    """A TCP forwarder to PostgreSQL that the test can take down (dropping live connections) and up."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port = target_port
        self.port = closed_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)


async def test_database_going_away_mid_day_spools_then_replays(tmp_path: Path) -> None:
    proxy = Proxy()
    await proxy.up()
    with pg_schema() as direct:
        url = direct.replace(":5432/", f":{proxy.port}/")
        writer = RecordWriter(url, tmp_path / "spool.jsonl", retry_s=0.2)
        await writer.start()
        clock = Clock()
        recorder = CallRecorder(writer, clock=clock)
        Script(recorder, clock, "before").ivr(names.CALL_STARTED, plan="main").at(5).menu("abandoned")
        await asyncio.wait_for(writer.flushed.wait(), WAIT)
        assert writer.written >= 1
        await proxy.down()
        clock.now = T0 + 100
        Script(recorder, clock, "during").ivr(names.CALL_STARTED, plan="main").at(5).menu(
            "message", reason="closed_hours")
        await asyncio.wait_for(writer.flushed.wait(), WAIT)
        assert writer.spooled >= 1 and writer.spool
        await proxy.up()
        await asyncio.wait_for(writer.db_up.wait(), WAIT)
        await asyncio.wait_for(writer.flushed.wait(), WAIT)
        replayed = writer.replayed
        await writer.stop()
        await proxy.down()
        got = rows(direct)
    assert replayed >= 1
    assert {u: r["outcome"] for u, r in got.items()} == {"before": "menu_hangup", "during": "closed_hours"}
    assert not writer.spool


def test_connect_timeout_is_added_to_postgres_urls_only() -> None:
    assert with_connect_timeout("postgresql://u@h/db") == "postgresql://u@h/db?connect_timeout=5"
    assert with_connect_timeout("postgresql://u@h/db?options=x") == "postgresql://u@h/db?options=x&connect_timeout=5"
    assert with_connect_timeout("sqlite:///var/ivr.db") == "sqlite:///var/ivr.db"


async def test_older_row_never_overwrites_a_newer_one(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    clock = Clock()
    captured: list[dict[str, Any]] = []

    class Keep:
        def submit_later(self, key: str, build: Callable[[], dict[str, Any]]) -> None:
            captured.append(build())

    Script(CallRecorder(Keep(), clock=clock), clock, "u").ivr(names.CALL_STARTED).at(5).menu("abandoned")
    store.upsert(db, [captured[-1]])
    store.upsert(db, [captured[0]])  # a replay of the older version
    assert store.fetch(db, 0, 2**40)[0]["outcome"] == "menu_hangup"
    db.close()


async def test_a_row_is_built_once_when_its_batch_is_written_and_busy_batches_gather(tmp_path: Path) -> None:
    """submit_later: what is written is the record as it stands when the batch is taken, built once
    however often it changed before; while rows keep coming, batches are min_interval_s apart."""
    written: list[list[dict[str, Any]]] = []
    times: list[float] = []

    def keep(db: object, batch: list[dict[str, Any]]) -> int:
        written.append(batch)
        times.append(time.monotonic())
        return len(batch)

    writer = RecordWriter(f"sqlite:///{tmp_path / 'ivr.db'}", tmp_path / "spool.jsonl", write=keep,
                          min_interval_s=0.3)
    builds: list[int] = []

    def build(version: int) -> Callable[[], dict[str, Any]]:
        return lambda: builds.append(version) or {"uniqueid": "u", "version": version}

    await writer.start()
    try:
        writer.submit_later("u", build(1))  # an idle writer writes at once
        await asyncio.wait_for(writer.flushed.wait(), WAIT)
        for version in range(2, 12):  # ten changes while the writer is busy gathering
            writer.submit_later("u", build(version))
            writer.submit({"uniqueid": f"other{version}"})
            if version == 2:
                await asyncio.sleep(0)  # the write of version 2 starts; the rest gather behind it
        await asyncio.wait_for(writer.flushed.wait(), WAIT)
    finally:
        await writer.stop()
    assert builds == [1, 2, 11]  # versions 3..10 were replaced before their batch was taken
    assert [len(batch) for batch in written] == [1, 2, 10]
    assert times[2] - times[1] >= 0.25  # the third batch gathered behind the second
    assert written[-1][-1] == {"uniqueid": "other11"} and {"uniqueid": "u", "version": 11} in written[-1]
