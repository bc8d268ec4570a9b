"""The MQTT broker or the records database away while calls run, on the real Asterisk and daemon.

Calls never wait on either: they go through the menu in normal time. Events wait in the publisher's
bounded backlog and reach the broker, in order, when it is back; records go to the spool (also when
the database hangs instead of refusing), survive a SIGKILL of the daemon, and a daemon started while
the database is still away serves calls and replays everything once it is back. Both stores are
private (a mosquitto of the test's own; a TCP proxy in front of a schema of its own in PostgreSQL),
so the machine's shared services are never touched.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall
from harness.citizens import Citizens
from harness.daemon import DaemonProcess
from harness.faults import (
    QUICK_KEYS,
    BusCapture,
    TcpProxy,
    call_records,
    eventually,
    private_broker,
    quick_config,
)

from ivr.testing.postgres import pg_schema

pytestmark = pytest.mark.real_daemon

# And ivr_node per node.
CALL_FLOW = ["call_started", "menu_finished", "queued", "agent_ringing", "answered", "call_ended"]
SHORT_TALK = {"__AGENT_TALK": "1", "__AGENT_ANSWER_DELAY": "0"}


async def served_in_normal_time(call: SimCall, result: str, limit: float = 6.0) -> None:
    """The menu decided within `limit` seconds of the call starting, whatever the stores do."""
    started = time.monotonic()
    decided = await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT", 15,
                                  what="IVR_RESULT")
    assert decided.Value == result
    assert time.monotonic() - started < limit


async def test_broker_down_calls_go_on_and_events_arrive_later(
        citizens: Citizens, ami: AmiClient, tmp_path: Path) -> None:
    broker = private_broker(tmp_path / "mqtt")
    broker.start()
    bus = BusCapture(broker.port)
    await bus.start()
    daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                           env={"IVR_MQTT_HOST": "127.0.0.1", "IVR_MQTT_PORT": str(broker.port)})
    await daemon.start()
    try:
        # Both calls wait long enough for an agent still in wrap-up after an earlier test; an agent ends them.
        before = await citizens.call(dtmf=QUICK_KEYS["kc-building"], hold=30, variables=SHORT_TALK)
        await before.wait_event(30, Event="AgentConnect")
        await bus.wait_event(before.uniqueid, "call_ended", 20)

        await bus.stop()  # its persistent session keeps collecting QoS 1 messages at the broker
        broker.stop()
        await eventually(lambda: any(line.get("event") == "mqtt.disconnected" for line in daemon.log_lines()),
                         10, "the daemon noticed the broker is gone")
        during = await citizens.call(dtmf=QUICK_KEYS["kc-building"], hold=30, variables=SHORT_TALK)
        await served_in_normal_time(during, "queue")
        await during.wait_event(30, Event="AgentConnect")
        await during.wait_hangup(15)
        records = await eventually(lambda: _ended(daemon, during), 10, "the call's record, broker or not")
        assert records[during.uniqueid]["outcome"] == "answered"

        broker.start()
        await bus.start()
        await bus.wait_event(during.uniqueid, "call_ended", 30)
    finally:
        await daemon.stop()
        await bus.stop()
        broker.stop()
    # The call made while the broker was away reads on the bus exactly like the one made before.
    assert bus.events(during.uniqueid) == bus.events(before.uniqueid)
    assert [e for e in bus.events(during.uniqueid) if e != "ivr_node"] == CALL_FLOW
    reconnects = [line for line in daemon.log_lines() if line.get("event") == "mqtt.connected"]
    assert len(reconnects) >= 2
    assert all(line.get("dropped") == 0 for line in daemon.log_lines() if line.get("event") == "mqtt.disconnected")


async def test_database_hung_then_down_records_spool_survive_sigkill_and_replay(
        citizens: Citizens, ami: AmiClient, tmp_path: Path) -> None:
    proxy = TcpProxy(5432)
    await proxy.up()
    with pg_schema() as direct:
        daemon = DaemonProcess(state_dir=tmp_path / "daemon", config_paths=quick_config(tmp_path / "config"),
                               env={"IVR_DB_URL": proxy.url(direct), "IVR_DB_WRITE_TIMEOUT_S": "2"})
        spool = daemon.state_dir / "records-spool.jsonl"
        await daemon.start()
        try:
            before = await citizens.call(dtmf=QUICK_KEYS["goodbye"], hold=5)
            await eventually(lambda: _ended_at(direct, before), 15, "the first call's record in PostgreSQL")

            proxy.freeze()  # the database stops answering but keeps the connection open
            hung = await citizens.call(dtmf=QUICK_KEYS["goodbye"], hold=5)
            await served_in_normal_time(hung, "hangup")
            await hung.wait_hangup(10)
            await eventually(lambda: hung.uniqueid in _spooled(spool), 15, "the hung database's rows spooled")

            await proxy.down()  # now it refuses outright
            refused = await citizens.call(dtmf=QUICK_KEYS["goodbye"], hold=5)
            await served_in_normal_time(refused, "hangup")
            await refused.wait_hangup(10)
            await eventually(lambda: _final_in_spool(spool, refused), 15, "the refused database's rows spooled")
            daemon.kill()
            assert set(_spooled(spool)) >= {hung.uniqueid, refused.uniqueid}

            await daemon.start()  # still no database: the daemon starts and serves all the same
            restarted = await citizens.call(dtmf=QUICK_KEYS["goodbye"], hold=5)
            await served_in_normal_time(restarted, "hangup")
            await restarted.wait_hangup(10)
            await proxy.up()
            records = await eventually(lambda: _ended_at(direct, before, hung, refused, restarted), 20,
                                       "every record in PostgreSQL once it is back")
            await eventually(lambda: not spool.exists(), 10, "the spool emptied once replayed")
        finally:
            await daemon.stop()
            await proxy.down()
    for call in (before, hung, refused, restarted):
        record = records[call.uniqueid]
        assert (record["outcome"], record["reason"], record["plan"]) == ("message", "goodbye", "quick")
        assert json.loads(record["path"]) == ["hello", "menu", "goodbye"]
    failures = [str(line.get("error")) for line in daemon.log_lines()
                if line.get("event") == "records database write failed; spooling"]
    assert "no answer within 2 s" in failures  # the hung database: given up on, not waited for
    assert any(line.get("event") == "spooled records replayed" for line in daemon.log_lines())


def _ended(daemon: DaemonProcess, *calls: SimCall) -> dict[str, dict[str, object]] | None:
    return _ended_at(f"sqlite:///{daemon.state_dir / 'ivr.db'}", *calls)


def _ended_at(url: str, *calls: SimCall) -> dict[str, dict[str, object]] | None:
    records = call_records(url)
    if all(c.uniqueid in records and records[c.uniqueid]["ended"] is not None for c in calls):
        return records
    return None


def _spooled(spool: Path) -> list[str]:
    if not spool.exists():
        return []
    return [json.loads(line)["row"]["uniqueid"] for line in spool.read_text().splitlines() if line.strip()]


def _final_in_spool(spool: Path, call: SimCall) -> bool:
    if not spool.exists():
        return False
    rows = [json.loads(line)["row"] for line in spool.read_text().splitlines() if line.strip()]
    return any(r["uniqueid"] == call.uniqueid and r["ended"] is not None for r in rows)
