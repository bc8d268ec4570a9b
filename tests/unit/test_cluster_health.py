"""Seeing the cluster: each node's retained health with a Last Will that says `down`, `ivr cluster
status`, `ivr reload --all` reaching every node (and only fresh, signed commands), the wallboard's
nodes. A broker of the test's own (ivr.testing.mosquitto): a node is SIGKILLed in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.cluster.command import ReloadGate, reload_command
from ivr.cluster.health import NodeHealth, parse_health
from ivr.cluster.link import ClusterLink
from ivr.cluster.reader import publish, read_nodes
from ivr.events.mqtt import MessageBuilder, MqttConfig
from ivr.testing.mosquitto import PrivateBroker
from ivr.wallboard.state import WallboardState

REPO = Path(__file__).resolve().parents[2]
SITE = "clustertest"
KEY = b"cluster-test-key"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    running = PrivateBroker(tmp_path / "broker")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def mqtt(broker: PrivateBroker) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=broker.port, site=SITE, keepalive=1)


def probe() -> dict[str, object]:
    return {"healthy": True, "config_version": "v1", "calls": 2, "ami": True, "store": True}


async def until(check: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.05)


# A node in a process of its own, to be SIGKILLed: only the broker's Last Will can speak for it then.
NODE_SCRIPT = """
import asyncio, sys
from ivr.cluster.link import ClusterLink
from ivr.events.mqtt import MqttConfig
async def main():
    link = ClusterLink(MqttConfig(host="127.0.0.1", port=int(sys.argv[1]), site=sys.argv[2], keepalive=1), "node-a",
                       lambda: {"healthy": True, "config_version": "v1", "calls": 0}, every_s=0.5)
    await link.start()
    await link.connected.wait()
    print("up", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def test_a_killed_node_is_down_for_the_others_and_for_the_wallboard(broker: PrivateBroker) -> None:
    seen: list[dict[str, NodeHealth]] = []
    wallboard = WallboardState(site=SITE)

    def view(nodes: dict[str, NodeHealth]) -> None:
        seen.append(nodes)
        wallboard.set_nodes(nodes)

    other = subprocess.Popen([sys.executable, "-c", NODE_SCRIPT, str(broker.port), SITE], stdout=subprocess.PIPE,
                             cwd=REPO)
    link = ClusterLink(mqtt(broker), "node-b", probe, every_s=0.5, on_nodes=view)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == b"up"
        await link.start()
        await until(lambda: seen and seen[-1].get("node-a") is not None and seen[-1].get("node-b") is not None)
        assert seen[-1]["node-a"].state == "up"
        os.kill(other.pid, signal.SIGKILL)
        other.wait(10)
        await until(lambda: seen[-1]["node-a"].state == "down")  # the broker's Last Will, ~1.5 keepalives
        nodes = {n["node"]: n for n in wallboard.as_dict()["nodes"]}
        assert nodes["node-a"]["state"] == "down" and not nodes["node-a"]["healthy"]
        assert nodes["node-b"]["state"] == "up" and nodes["node-b"]["calls"] == 2
        # `ivr cluster status` reads the same retained messages.
        read = await read_nodes(mqtt(broker))
        assert {name: h.state for name, h in read.items()} == {"node-a": "down", "node-b": "up"}
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
        await link.stop()
    stopped = await read_nodes(mqtt(broker))
    assert stopped["node-b"].state == "stopped"  # a clean stop is not `down`


def test_cluster_status_cli(broker: PrivateBroker, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    async def two_nodes() -> None:
        links = [ClusterLink(mqtt(broker), name, probe, every_s=5) for name in ("node-a", "node-b")]
        for link in links:
            await link.start()
            await link.connected.wait()
        await until(lambda: all(link.published for link in links))
        await links[0].stop()

    asyncio.run(two_nodes())
    capsys.readouterr()  # the links' own log lines
    monkeypatch.setenv("IVR_MQTT_HOST", "127.0.0.1")
    monkeypatch.setenv("IVR_MQTT_PORT", str(broker.port))
    monkeypatch.setenv("IVR_MQTT_SITE", SITE)
    assert main(["cluster", "status", "--json", "--db", "none"]) == 1  # one node is not up
    report = json.loads(capsys.readouterr().out)
    states = {n["node"]: (n["state"], n["config_version"], n["calls"]) for n in report["nodes"]}
    # node-b was not stopped: its task was cancelled with its event loop (a clean MQTT disconnect
    # keeps its last `up`; a dropped connection would have brought its Last Will, `down`).
    assert states["node-a"] == ("stopped", "v1", 0)
    assert states["node-b"] in {("up", "v1", 2), ("down", "v1", 2)}
    assert main(["cluster", "status", "--db", "none"]) == 1
    table = capsys.readouterr().out
    assert "node-a" in table and "stopped" in table and "config" in table


async def test_reload_all_reaches_every_node_once(broker: PrivateBroker) -> None:
    reloads: dict[str, list[str]] = {"node-a": [], "node-b": []}
    links = [ClusterLink(mqtt(broker), name, probe, every_s=5, key=KEY, on_reload=reloads[name].append)
             for name in reloads]
    try:
        for link in links:
            await link.start()
            await link.connected.wait()
        builder = MessageBuilder(SITE)
        await publish(mqtt(broker), reload_command(builder, by="admin@ops", key=b"wrong-key"))
        await publish(mqtt(broker), reload_command(builder, by="admin@ops", key=KEY, now=time.time() - 600))
        await publish(mqtt(broker), reload_command(builder, by="admin@ops", key=KEY, nonce="n1"))
        await until(lambda: all(reloads.values()))
        await asyncio.sleep(0.3)
        assert reloads == {"node-a": ["admin@ops"], "node-b": ["admin@ops"]}
    finally:
        for link in links:
            await link.stop()


def test_reload_gate_refuses_replays_and_floods() -> None:
    builder = MessageBuilder(SITE)
    gate = ReloadGate(key=KEY)
    fresh = reload_command(builder, by="ops", key=KEY, now=1000.0).payload
    assert gate.accept(fresh, retained=True, now=1000.0) == (False, "retained")
    assert gate.accept(fresh, retained=False, now=1000.0) == (True, "ops")
    assert gate.accept(reload_command(builder, by="ops", key=KEY, now=1001.0).payload, retained=False,
                       now=1001.0) == (False, "too soon")
    assert gate.accept(fresh, retained=False, now=1100.0) == (False, "too old")
    assert gate.accept(b"{}", retained=False, now=1000.0) == (False, "malformed")
    unsigned = ReloadGate()
    assert unsigned.accept(reload_command(builder, by="ops", now=2000.0).payload, retained=False, now=2000.0)[0]


def test_health_payload_has_no_number_and_goes_stale() -> None:
    link = ClusterLink(MqttConfig(host="x", site=SITE), "node-a", probe, every_s=10, clock=lambda: 1000.0)
    message = link.health()
    assert message.retain and message.qos == 1 and message.topic == f"ivr/{SITE}/nodes/node-a/health"
    health = parse_health(message.payload)
    assert health is not None and health.state == "up" and health.config_version == "v1"
    assert health.seen_state(1020.0) == "up" and health.seen_state(1031.0) == "stale"
    assert parse_health(b"not json") is None


async def test_the_daemon_publishes_its_health_and_obeys_reload_all(broker: PrivateBroker, tmp_path: Path) -> None:
    from ivr.daemon import Daemon
    from ivr.settings import Settings

    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path / "state", mqtt_host="127.0.0.1",
                        mqtt_port=broker.port, mqtt_site=SITE, node_id="node-x", wallboard_port=0,
                        ami_secret="")
    daemon = Daemon(settings)
    reloads: list[str] = []
    daemon.request_reload = lambda: reloads.append("reload")  # type: ignore[method-assign]
    await daemon.start()
    try:
        assert daemon.cluster is not None
        await asyncio.wait_for(daemon.cluster.connected.wait(), 10)
        nodes = await read_nodes(mqtt(broker))
        mine = nodes["node-x"]
        assert mine.state == "up" and mine.config_version == daemon.app.config.current.version
        assert not mine.healthy and mine.details["ami"] is False  # no AMI in this test
        await publish(mqtt(broker), reload_command(MessageBuilder(SITE), by="ops"))
        await until(lambda: reloads == ["reload"])
    finally:
        await daemon.stop(grace=1)
    assert (await read_nodes(mqtt(broker)))["node-x"].state == "stopped"
