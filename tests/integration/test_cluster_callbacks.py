"""Several daemons on the real Asterisk: two real `ivr run` processes share one PostgreSQL database
(a schema of the test's own).

Exactly once: one daemon is SIGKILLed while it holds queued callbacks.

The first daemon ("victim") places the stand-ins of three callbacks alone; then the second
("survivor", the one Asterisk's FastAGI reaches) starts and two more callbacks arrive. The victim is
SIGKILLed, and one of its stand-ins is hung up while nobody watches it. Once the victim's leases
lapse, the survivor takes its callbacks over: it adopts the stand-ins still waiting and places the
lost one again. Then the agents answer: every citizen's leg (the trunk's TrunkCall event) is placed
exactly once, and no callback is left behind (docs/cluster-operations.md).

PostgreSQL away: both daemons reach it through a TCP proxy of the test's own, which is cut for a
while. Each daemon serves its calls, spools its own records and replays them once the database is
back; nothing is lost on either (the machine's PostgreSQL itself is never stopped).
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from harness.ami import AmiClient, AmiMessage
from harness.daemon import DaemonProcess
from harness.faults import QUICK_KEYS, TcpProxy, call_records, eventually, quick_config
from harness.ports import AGI_PORT

from ivr.callbacks import store
from ivr.callbacks.sealing import NumberSeal
from ivr.callbacks.store import NewCallback
from ivr.store.db import open_database
from ivr.testing.mosquitto import free_port
from ivr.testing.postgres import pg_schema

pytestmark = pytest.mark.real_daemon

SCHOOL_AGENTS = ("2001", "2002")
CITIZENS = ("+46701117301", "+46701117302", "+46701117303", "+46701117304", "+46701117305")
KEY = "cluster-integration-callback-key-0123456789"
STANDIN = re.compile(r"^Local/cb(\d+)@ivr-callback-hold-")
LEASE_S = 4


@pytest.fixture
async def school_agents_away(ami: AmiClient) -> AsyncIterator[None]:
    """kc-school's agents ring without answering until the test lets them; then they talk 15 s, so
    that each citizen has answered before the agent hangs up (ANSWER: the callback is done)."""
    for agent in SCHOOL_AGENTS:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "1")
    await ami.set_global("AGENT_TALK", "15")
    yield
    for agent in SCHOOL_AGENTS:
        await ami.set_global(f"AGENT_{agent}_NOANSWER", "")
    await ami.set_global("AGENT_TALK", "")


def book(url: str, citizens: tuple[str, ...], *, queue: str = "kc-school", group: str = "school",
         key: str = KEY) -> list[int]:
    """Callbacks as the `callback` route stores them (their numbers sealed with `key`), due at once."""
    db = open_database(url)
    try:
        now = time.time()
        return [store.create(db, NewCallback(queue=queue, group=group, language="sv", priority=0,
                                             position=None, joined_at=now, caller_ref=f"clusterref{i}",
                                             origin_uniqueid=f"cluster-{i}", expires_at=now + 900),
                             NumberSeal(key.encode()), number, now).id
                for i, number in enumerate(citizens)]
    finally:
        db.close()


def standin_of(callback_id: int) -> Callable[[AmiMessage], bool]:
    def joined(e: AmiMessage) -> bool:
        match = STANDIN.match(e.Channel or "")
        return e.Event == "QueueCallerJoin" and e.Queue == "kc-school" and match is not None \
            and int(match[1]) == callback_id
    return joined


def rows(url: str, ids: list[int]) -> list[store.Callback]:
    db = open_database(url, migrate=False)
    try:
        return [row for row in (store.get(db, i) for i in ids) if row is not None]
    finally:
        db.close()


async def test_two_daemons_one_sigkilled_each_citizen_called_once(
        ami: AmiClient, school_agents_away: None, tmp_path: Path) -> None:
    config = quick_config(tmp_path / "config")
    with pg_schema() as url:
        shared = {"IVR_DB_URL": url, "IVR_CALLBACK_KEY": KEY, "IVR_CALLBACK_SCAN_S": "1",
                  "IVR_CALLBACK_LEASE_S": str(LEASE_S)}
        victim = DaemonProcess(state_dir=tmp_path / "victim", config_paths=config, agi_port=free_port(),
                               env={**shared, "IVR_NODE_ID": "victim"})
        survivor = DaemonProcess(state_dir=tmp_path / "survivor", config_paths=config, agi_port=AGI_PORT,
                                 env={**shared, "IVR_NODE_ID": "survivor"})
        start = ami.recorder.mark()
        try:
            await victim.start()
            first = book(url, CITIZENS[:3])
            for callback_id in first:
                await ami.recorder.wait_for(standin_of(callback_id), 20, since=start, what=f"stand-in {callback_id}")
            assert {row.owner_node for row in rows(url, first)} == {"victim"}
            await survivor.start()
            later = book(url, CITIZENS[3:])
            for callback_id in later:
                await ami.recorder.wait_for(standin_of(callback_id), 20, since=start, what=f"stand-in {callback_id}")
            ids = first + later

            victim.kill()  # SIGKILL: its leases stay in the store until they lapse
            killed = ami.recorder.mark()
            lost = first[0]
            await ami.action("Hangup", Channel=f"/^Local\\/cb{lost}@ivr-callback-hold-/")
            await ami.recorder.wait_for(standin_of(lost), LEASE_S + 20, since=killed, what="the lost one placed again")
            taken = await survivor.wait_log(lambda line: line.get("event") == "callback taken over from a node"
                                            " whose lease lapsed", 20)
            assert taken["callback_id"] in first

            for agent in SCHOOL_AGENTS:
                await ami.set_global(f"AGENT_{agent}_NOANSWER", "")
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                if all(row.state == "done" for row in rows(url, ids)) and len(rows(url, ids)) == len(ids):
                    break
                await asyncio.sleep(1)
            await asyncio.sleep(LEASE_S + 3)  # room for a second placement, if there were one
            legs = ami.recorder.find(lambda e: e.Event == "UserEvent" and e.UserEvent == "TrunkCall", since=start)
            joins = ami.recorder.find(lambda e: e.Event == "QueueCallerJoin", since=start)
            survivor_log = survivor.log_text() + victim.log_text()
        finally:
            victim.kill()
            await survivor.stop()
        final = rows(url, ids)
    per_citizen = {number: sum(1 for e in legs if e.Number == number) for number in CITIZENS}
    placed = [int(match[1]) for match in (STANDIN.match(e.Channel or "") for e in joins) if match is not None]
    taken_over = survivor_log.count("callback taken over from a node whose lease lapsed")
    print(f"\ncitizen legs per callback: {sorted(per_citizen.values())}; stand-ins per callback: "
          f"{[len([p for p in placed if p == i]) for i in ids]}; taken over by the survivor: {taken_over}")
    assert per_citizen == dict.fromkeys(CITIZENS, 1), per_citizen
    assert [row.state for row in final] == ["done"] * len(ids)
    assert all(row.number_sealed is None and row.attempts == 1 for row in final)
    per_callback = {i: placed.count(i) for i in ids}
    assert per_callback == {i: (2 if i == lost else 1) for i in ids}  # only the lost one placed twice
    assert {row.placement for row in final if row.id != lost} == {1}
    assert not any(number[1:] in survivor_log for number in CITIZENS)  # numbers never in clear


async def test_database_away_each_daemon_spools_and_replays(ami: AmiClient, tmp_path: Path) -> None:
    config = quick_config(tmp_path / "config")
    proxy = TcpProxy(5432)
    await proxy.up()
    with pg_schema() as direct:
        shared = {"IVR_DB_URL": proxy.url(direct), "IVR_DB_WRITE_TIMEOUT_S": "2", "IVR_CALLBACK_KEY": KEY,
                  "IVR_CALLBACK_SCAN_S": "1"}
        nodes = [DaemonProcess(state_dir=tmp_path / name, config_paths=config, agi_port=port,
                               env={**shared, "IVR_NODE_ID": name})
                 for name, port in (("node-one", AGI_PORT), ("node-two", free_port()))]

        async def goodbye(daemon: DaemonProcess) -> str:
            """A call whose FastAGI reaches this daemon (a channel variable over the dialplan's global)."""
            call = await ami.originate_caller(dtmf=QUICK_KEYS["goodbye"], hold=5, variables={
                "IVR_AGI_HOSTS": f"127.0.0.1:{daemon.agi_port}"})
            decided = await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT", 15,
                                          what="IVR_RESULT")
            assert decided.Value == "hangup"
            await call.wait_hangup(10)
            return call.uniqueid

        def ended(*uniqueids: str) -> bool:
            records = call_records(direct)
            return all(u in records and records[u]["ended"] is not None for u in uniqueids)

        try:
            for daemon in nodes:
                await daemon.start()
            before = [await goodbye(daemon) for daemon in nodes]
            await eventually(lambda: ended(*before), 15, "the first calls' records in PostgreSQL")

            await proxy.down()
            during = [await goodbye(daemon) for daemon in nodes]
            for daemon, uniqueid in zip(nodes, during, strict=True):
                await eventually(functools.partial(_spooled, daemon, uniqueid), 15,
                                 f"{daemon.state_dir.name} spooled its own call")
            await proxy.up()
            await eventually(lambda: ended(*before, *during), 30, "every record in PostgreSQL once it is back")
            for daemon in nodes:
                await eventually(functools.partial(_spool_gone, daemon), 15,
                                 f"{daemon.state_dir.name}'s spool replayed")
                # The callback service lost its connection too, and has a new one (placements go on).
                await eventually(functools.partial(_reopened, daemon), 30,
                                 f"{daemon.state_dir.name}'s callback store open again")
        finally:
            for daemon in nodes:
                await daemon.stop()
            await proxy.down()
    for daemon in nodes:
        assert _count(daemon, "spooled records replayed") >= 1
        assert _count(daemon, "callback store connection lost; reconnecting") >= 1


def _count(daemon: DaemonProcess, event: str) -> int:
    return sum(1 for line in daemon.log_lines() if line.get("event") == event)


def _spooled(daemon: DaemonProcess, uniqueid: str) -> bool:
    spool = daemon.state_dir / "records-spool.jsonl"
    return spool.exists() and uniqueid in spool.read_text()


def _spool_gone(daemon: DaemonProcess) -> bool:
    return not (daemon.state_dir / "records-spool.jsonl").exists()


def _reopened(daemon: DaemonProcess) -> bool:
    return _count(daemon, "callback store open") >= 2
