"""Availability: one broken part must not take the main number down. A service that fails to start
or to stop leaves the daemon serving calls (and the records still flushed); a message the MQTT
client refuses is dropped and counted instead of blocking every event behind it; a config the
loader chokes on is refused at SIGHUP with the last good one kept."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import structlog

from ivr.daemon import Daemon
from ivr.events.mqtt import MqttConfig, MqttPublisher
from ivr.logs import configure_logging
from ivr.records import store
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.testing.fake_asterisk import fake_call
from ivr.testing.mosquitto import unique_site

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("info", stream=buffer)
    yield buffer
    structlog.reset_defaults()


def events(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]


class Broken:
    """A service whose start and stop both fail (its database is gone, say)."""

    def __init__(self) -> None:
        self.stop_called = False

    async def start(self) -> None:
        raise RuntimeError("cannot reach its store")

    async def stop(self) -> None:
        self.stop_called = True
        raise RuntimeError("still cannot reach its store")


async def test_a_service_failing_to_start_or_stop_leaves_calls_and_records(tmp_path: Path,
                                                                          log: io.StringIO) -> None:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True,
                        ami_secret="", mqtt_host="", wallboard_port=0, db_url="")
    daemon = Daemon(settings)
    broken = Broken()
    daemon._services.insert(0, broken)
    await daemon.start()
    try:
        result = await fake_call(daemon.server.port, keys=["1", "1"], variables=WEEKDAY, uniqueid="served.1")
    finally:
        await daemon.stop(grace=1)
    assert result.variables["IVR_RESULT"] == "queue"
    assert broken.stop_called
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        assert [r["uniqueid"] for r in store.fetch(db, 0, 2**40)] == ["served.1"]  # the writer stopped last
    finally:
        db.close()
    logged = {e["event"]: e for e in events(log)}
    assert logged["service failed to start; calls go on without it"]["service"] == "Broken"
    assert "service failed to stop" in logged and "daemon stopped" in logged


async def test_a_message_the_mqtt_client_refuses_does_not_block_the_rest(monkeypatch: pytest.MonkeyPatch,
                                                                         log: io.StringIO) -> None:
    site = unique_site()
    original = aiomqtt.Client.publish

    async def picky(self: aiomqtt.Client, topic: str, *args: Any, **kwargs: Any) -> None:
        if topic.endswith("/poison"):
            raise ValueError("refused by the client library")
        await original(self, topic, *args, **kwargs)

    monkeypatch.setattr(aiomqtt.Client, "publish", picky)
    publisher = MqttPublisher(MqttConfig(host="127.0.0.1", port=1883, site=site))
    await publisher.start()
    try:
        publisher.emit("poison")
        publisher.emit("call_started", None, uniqueid="after.1", plan="main")
        await asyncio.wait_for(publisher.connected.wait(), 10)
        await asyncio.sleep(0.1)
        await asyncio.wait_for(publisher.idle.wait(), 10)
    finally:
        await publisher.stop()
        async with aiomqtt.Client("127.0.0.1", 1883) as client:  # leave nothing retained on the shared broker
            await client.publish(f"ivr/{site}/daemon/status", b"", qos=1, retain=True)
    assert publisher.dropped == 1
    assert publisher.published >= 1 and not publisher.backlog
    refused = [e for e in events(log) if e["event"] == "mqtt.message_refused"]
    assert [e["topic"] for e in refused] == [f"ivr/{site}/events/poison"]  # once: not retried in a loop


async def test_reload_of_a_config_the_loader_chokes_on_keeps_the_last_good_one(tmp_path: Path,
                                                                               log: io.StringIO) -> None:
    plans = tmp_path / "dialplans"
    plans.mkdir()
    plan = plans / "main.yaml"
    plan.write_text((REPO / "dialplans" / "main.yaml").read_text())
    paths = [str(REPO / "routing_rules.yaml"), str(REPO / "agents"), str(plans)]
    daemon = Daemon(Settings(config_paths=paths, agi_port=0, state_dir=tmp_path, ami_secret="", mqtt_host="",
                             wallboard_port=0, db_url=""))
    version = daemon.app.config.current.version
    plan.write_text("plan: " + "[" * 50_000 + "]" * 50_000)
    await daemon.reload()  # what SIGHUP runs: must not raise
    assert daemon.app.config.current.version == version
    kept = [e for e in events(log) if "keeping the last good config" in e["event"]]
    assert kept and kept[0]["version"] == version
