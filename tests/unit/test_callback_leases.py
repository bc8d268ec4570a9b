"""Exactly once across daemons: two callback services (two nodes) on one store and one (fake)
Asterisk; one node dies half-way, without releasing anything. Every callback's stand-in is
originated once and every citizen called once (ivr/callbacks/leases.py, docs/cluster-operations.md)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ivr.ami.reply import AmiHeaders, AmiReply
from ivr.callbacks import leases, store
from ivr.callbacks.sealing import NumberSeal
from ivr.callbacks.service import CallbackService
from ivr.callbacks.store import NewCallback
from ivr.config.holder import ConfigHolder
from ivr.events.sink import FanoutSink
from ivr.live.queue_view import QueueView
from ivr.store import leases as job_leases
from ivr.store.db import open_database
from ivr.testing.fake_ami import FakeAmi
from ivr.testing.postgres import PG_ADMIN, pg_schema
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
SEAL = NumberSeal(b"unit-test-callback-key-0123456789")
CALLBACKS = 50


def due_callback(index: int, now: float) -> NewCallback:
    return NewCallback(queue="kc-social", group="social", language="sv", priority=0, position=None,
                       joined_at=now - 1000 + index, caller_ref=f"ref{index}", origin_uniqueid=f"u{index}",
                       expires_at=now + 3600)


class FakeAsterisk:
    """The one Asterisk both nodes' AMI reach. A stand-in waits in `queue` from the moment its
    Originate arrives until an agent answers it; its channel lives on (`channels`) until the call to
    the citizen ended. Counts what reached it: Originates and citizens' legs (numbers handed over)."""

    def __init__(self) -> None:
        self.originates: Counter[int] = Counter()
        self.citizen_legs: Counter[int] = Counter()
        self.queue: dict[int, int] = {}  # callback id -> placement of its waiting stand-in
        self.channels: set[int] = set()
        self.answered: dict[int, asyncio.Event] = {}


def node_ami(asterisk: FakeAsterisk) -> FakeAmi:
    """One node's AMI connection to the shared fake Asterisk: the shared fake, answering from it."""
    ami = FakeAmi()

    async def originate(channel: str, fields: dict[str, Any]) -> AmiHeaders:
        # The action on its way: a node that dies now never sent it.
        await asyncio.sleep(random.uniform(0.0, 0.05))
        match = re.search(r"cb(\d+)@", channel)
        assert match is not None
        callback_id = int(match[1])
        asterisk.originates[callback_id] += 1
        asterisk.queue[callback_id] = int(fields["variables"]["IVR_CB_PLACEMENT"])
        asterisk.channels.add(callback_id)
        answered = asterisk.answered[callback_id] = asyncio.Event()
        await answered.wait()  # Originate's response: when the stand-in's ;1 is answered
        return {"Event": "OriginateResponse", "Response": "Success"}

    ami.originate_hook = originate
    ami.answer("QueueStatus", lambda _: AmiReply.success(
        *({"Event": "QueueEntry", "Channel": f"Local/cb{i}@ivr-callback-hold-0000{i};2"}
          for i in list(asterisk.queue))))
    ami.answer("CoreShowChannels", lambda _: AmiReply.success(
        *({"Event": "CoreShowChannel", "Channel": f"Local/cb{i}@ivr-callback-hold-0000{i};1"}
          for i in list(asterisk.channels))))
    return ami


def node(name: str, url: str, asterisk: FakeAsterisk) -> CallbackService:
    view = QueueView()
    service = CallbackService(ConfigHolder([str(REPO)], load_config), url, SEAL, FanoutSink(), view=lambda: view,
                              scan_every=0.05, lease_s=0.6, claim_batch=4, node=name)
    service.attach(node_ami(asterisk))
    return service


def die(service: CallbackService) -> None:
    """SIGKILL, as far as the store can tell: every task stops where it is, nothing is released."""
    for task in [service._loop_task, *service._originates.values()]:
        if task is not None:
            task.cancel()


async def agents(asterisk: FakeAsterisk, alive: list[CallbackService]) -> None:
    """Agents answer the waiting stand-ins one at a time, in no particular order; the stand-in's
    FastAGI `connect` reaches a living daemon, and the call's end is announced to every daemon."""
    while True:
        await asyncio.sleep(0.01)
        if not asterisk.queue:
            continue
        callback_id = random.choice(list(asterisk.queue))
        placement = asterisk.queue.pop(callback_id)
        asterisk.answered[callback_id].set()
        found = await random.choice(alive).connect(callback_id, placement)
        if found is not None:
            asterisk.citizen_legs[callback_id] += 1
            for service in list(alive):
                await service.on_user_event({"Event": "UserEvent", "UserEvent": "IvrCallbackDone",
                                             "CallbackId": str(callback_id), "DialStatus": "ANSWER"})
        asterisk.channels.discard(callback_id)


@pytest.fixture
async def two_nodes(db_url: str) -> AsyncIterator[tuple[CallbackService, CallbackService, FakeAsterisk]]:
    asterisk = FakeAsterisk()
    first, second = node("node-a", db_url, asterisk), node("node-b", db_url, asterisk)
    yield first, second, asterisk
    for service in (first, second):
        await service.stop()


async def test_fifty_callbacks_two_nodes_one_dies_half_way_each_placed_once(
        two_nodes: tuple[CallbackService, CallbackService, FakeAsterisk], db_url: str) -> None:
    first, second, asterisk = two_nodes
    db = open_database(db_url)
    try:
        now = time.time()
        ids = {store.create(db, due_callback(i, now), SEAL, f"+4670{i:07d}", now).id for i in range(CALLBACKS)}
    finally:
        db.close()
    alive = [first, second]
    await first.start()
    await second.start()
    answering = asyncio.create_task(agents(asterisk, alive))
    try:
        async with asyncio.timeout(60):
            while sum(asterisk.originates.values()) < CALLBACKS // 2:
                await asyncio.sleep(0.005)
            held_at_death = {c.id for c in await second._run_db(
                lambda db: leases.held(db, "node-a", sorted(ids)))}
            die(first)
            alive.remove(first)
            while True:
                rows = await second._run_db(lambda db: [store.get(db, i) for i in sorted(ids)])
                if all(row is not None and row.state == "done" for row in rows):
                    break
                await asyncio.sleep(0.05)
    finally:
        answering.cancel()
    assert set(asterisk.originates) == ids and set(asterisk.originates.values()) == {1}
    assert set(asterisk.citizen_legs) == ids and set(asterisk.citizen_legs.values()) == {1}
    assert held_at_death, "the dead node held callbacks when it died (the take-over was exercised)"
    rows = await second._run_db(lambda db: [store.get(db, i) for i in sorted(ids)])
    assert all(row is not None and row.attempts == 1 and row.number_sealed is None for row in rows)
    print(f"originates={sum(asterisk.originates.values())} citizen legs={sum(asterisk.citizen_legs.values())}"
          f" held by the dead node at its death={len(held_at_death)}")


async def test_a_stale_standin_never_calls_the_citizen(db_url: str) -> None:
    """A node that lost its lease may still have a stand-in waiting; once the callback was placed
    again, only the newest placement connects."""
    db = open_database(db_url)
    try:
        now = time.time()
        created = store.create(db, due_callback(0, now), SEAL, "+46701234567", now)
        first = leases.claim(db, created.id, "node-a", now, 1.0)
        assert first is not None and first.placement == 1
        assert leases.claim(db, created.id, "node-b", now, 1.0) is None  # queued: not claimable
        assert leases.take_over(db, "node-b", now + 0.5, 1.0) == []  # the lease still lives
        taken = leases.take_over(db, "node-b", now + 2.0, 1.0)
        assert [c.owner_node for c in taken] == ["node-b"]
        # node-b finds no stand-in: pending again, then placed by itself with placement 2.
        assert store.move(db, created.id, "pending", now + 2, expect=("queued",), placement=1)
        again = leases.claim_due(db, "node-b", now + 2, 1.0)
        assert [c.placement for c in again] == [2]
        assert not store.move(db, created.id, "connecting", now + 3, expect=("queued",), placement=1)
        assert store.move(db, created.id, "connecting", now + 3, expect=("queued",), placement=2)
    finally:
        db.close()


def test_a_job_lease_has_one_holder_until_it_lapses(db_url: str) -> None:
    db = open_database(db_url)
    try:
        assert job_leases.hold(db, "contacts-purge", "node-a", 1000.0, 60.0)
        assert not job_leases.hold(db, "contacts-purge", "node-b", 1030.0, 60.0)
        assert job_leases.hold(db, "contacts-purge", "node-a", 1050.0, 60.0)  # renewed by its holder
        assert job_leases.holder(db, "contacts-purge", 1100.0) == "node-a"
        assert not job_leases.hold(db, "contacts-purge", "node-b", 1100.0, 60.0)
        assert job_leases.hold(db, "contacts-purge", "node-b", 1111.0, 60.0)  # lapsed: taken over
        assert job_leases.holder(db, "contacts-purge", 1112.0) == "node-b"
    finally:
        db.close()


async def test_a_node_whose_store_connection_is_cut_reconnects_and_places_again() -> None:
    """PostgreSQL restarted or failed over under the daemon: its connection is dead (cut here for
    this test's own connections only); the next scan reconnects and callbacks are placed again."""
    asterisk = FakeAsterisk()
    with pg_schema() as url:
        service = node("node-a", url, asterisk)
        await service.start()
        try:
            await asyncio.wait_for(service._synced.wait(), 10)
            schema = url.rsplit("application_name=", 1)[1]
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                cut = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
                                    " AND pid <> pg_backend_pid()", (schema,)).fetchall()
            assert cut, "the service's connection was found and cut"
            db = open_database(url)
            try:
                now = time.time()
                created = store.create(db, due_callback(0, now), SEAL, "+46701234567", now)
            finally:
                db.close()
            async with asyncio.timeout(20):
                while asterisk.originates[created.id] == 0:
                    await asyncio.sleep(0.05)
        finally:
            await service.stop()


async def test_a_node_without_its_asterisk_lets_its_leases_lapse(db_url: str) -> None:
    """Its stand-ins died with its Asterisk: another node, whose Asterisk lives, takes the callbacks
    over once the leases lapse (docs/cluster.md, callbacks across nodes)."""
    asterisk = FakeAsterisk()
    first, second = node("node-a", db_url, asterisk), node("node-b", db_url, asterisk)
    db = open_database(db_url)
    try:
        now = time.time()
        created = store.create(db, due_callback(0, now), SEAL, "+46701234568", now)
        assert leases.claim(db, created.id, "node-a", now, 0.6) is not None
    finally:
        db.close()
    try:
        for service in (first, second):
            await service._open()  # the store, without the scan loop: the test scans itself
        ami = first.ami
        assert isinstance(ami, FakeAmi)
        await first.scan()  # AMI up: renewed
        renewed = await first._run_db(lambda db: store.get(db, created.id))
        assert renewed is not None and renewed.lease_until is not None and renewed.lease_until > now + 0.6
        ami.connected = False  # its Asterisk died
        await asyncio.sleep(0.7)
        await first.scan()
        lapsed = await first._run_db(lambda db: store.get(db, created.id))
        assert lapsed is not None and lapsed.lease_until == renewed.lease_until
        taken = await second._run_db(lambda db: leases.take_over(db, "node-b", time.time(), 0.6))
        assert [c.id for c in taken] == [created.id]
    finally:
        for service in (first, second):
            await service.stop()
