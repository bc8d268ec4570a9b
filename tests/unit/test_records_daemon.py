"""The daemon wired up: a call over FastAGI (Asterisk faked on the wire, no AMI) gives a call record,
MQTT messages on the shared broker and a wallboard; the caller's number is in none of them, nor
in the logs."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiomqtt
import pytest
import structlog

from ivr.daemon import Daemon
from ivr.logs import configure_logging
from ivr.records import store
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.testing.fake_asterisk import fake_call
from ivr.testing.mosquitto import free_port, unique_site

REPO = Path(__file__).resolve().parents[2]
CALLER = "+46701234567"
WAIT = 10.0



@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    site = unique_site()
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True,
                        ami_secret="", mqtt_host="127.0.0.1", mqtt_port=1883, mqtt_site=site,
                        wallboard_port=free_port(), db_url="")
    running = Daemon(settings)
    try:
        await running.start()  # inside the try: a start that fails half-way still frees the ports
        yield running
    finally:
        await running.stop(grace=1)
    async with aiomqtt.Client("127.0.0.1", 1883) as client:  # leave nothing retained behind
        await client.publish(f"ivr/{site}/daemon/status", b"", qos=1, retain=True)


async def test_calls_give_records_events_and_a_wallboard(daemon: Daemon, tmp_path: Path) -> None:
    assert daemon.mqtt is not None and daemon.wallboard is not None
    site = daemon.settings.mqtt_site
    log = io.StringIO()
    configure_logging("info", stream=log)
    received: list[aiomqtt.Message] = []
    try:
        async with aiomqtt.Client("127.0.0.1", 1883) as sub:
            await sub.subscribe(f"ivr/{site}/calls/#", qos=1)
            await fake_call(daemon.server.port, keys=["2", "1"], caller=CALLER, uniqueid="1790000000.1",
                            variables={"IVR_TEST_NOW": "2026-12-22T10:00"})
            await fake_call(daemon.server.port, keys=["1"], caller=CALLER, uniqueid="1790000000.2",
                            variables={"IVR_TEST_NOW": "2026-12-24T10:00"})

            async def collect() -> None:
                async for message in sub.messages:
                    received.append(message)
                    if sum(m.topic.matches("+/+/calls/+/menu_finished") for m in received) == 2:
                        return

            await asyncio.wait_for(collect(), WAIT)
        await asyncio.wait_for(daemon.records.flushed.wait(), WAIT)
    finally:
        structlog.reset_defaults()
    topics = [str(m.topic) for m in received]
    first = [t.rsplit("/", 1)[1] for t in topics if "/1790000000.1/" in t]
    assert first[0] == "call_started" and first[-1] == "menu_finished" and "ivr_node" in first
    finished = json.loads(next(bytes(m.payload) for m in received  # type: ignore[arg-type]
                               if str(m.topic).endswith("1790000000.1/menu_finished")))
    assert finished["data"]["queue"] == "kc-school" and finished["data"]["tags"]["department"] == "education"

    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        records = {r["uniqueid"]: r for r in store.fetch(db, 0, 2**40)}
    finally:
        db.close()
    queued, closed = records["1790000000.1"], records["1790000000.2"]
    # No AMI in this test: the queued call stays "queued" until AMI reports what happened.
    assert (queued["outcome"], queued["queue"], queued["language"], queued["department"]) == (
        "queued", "kc-school", "en", "education")
    assert queued["caller_ref"] == daemon.app.hasher.short(CALLER)
    assert (closed["outcome"], closed["reason"]) == ("closed_hours", "closed_holiday")

    # The board is served with the agents' desktop: to someone signed in (a supervisor's session here).
    assert daemon.desktop is not None
    session = await daemon.desktop.store.create_session("lena.strand")
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{daemon.wallboard.port}/api/state", headers={"Cookie": f"ivr_session={session}"}
    ) as answer:
        assert answer.status == 200
        assert (await answer.json())["site"] == site

    digits = ("46701234567", "0701234567", "701234567")
    payloads = b"".join(m.payload for m in received if isinstance(m.payload, bytes))
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ivr.db*"))
    assert payloads and db_bytes and log.getvalue()
    for form in digits:
        assert form.encode() not in payloads
        assert form.encode() not in db_bytes
        assert form not in log.getvalue()
