"""Queued callbacks: sealed numbers, which numbers we call, the store on SQLite and PostgreSQL, the
service's life cycle (stand-in, connect, retry, expiry, resync) and the caller's dialogue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_agents import AgiPhone, agi_session

from ivr.ami.errors import AmiOriginateFailed
from ivr.callbacks import store
from ivr.callbacks.numbers import callback_number, last_digits
from ivr.callbacks.sealing import NumberSeal, SealError
from ivr.callbacks.service import CallbackService
from ivr.callbacks.store import NewCallback
from ivr.config.holder import ConfigHolder
from ivr.daemon import Daemon
from ivr.events.sink import FanoutSink
from ivr.live.queue_view import QueueView
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.testing.fake_ami import FakeAmi
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
NUMBER = "+46701234567"
SEAL = NumberSeal(b"unit-test-callback-key-0123456789")


def new_callback(queue: str = "kc-social", joined_at: float = 900.0, expires_at: float = 10_000.0) -> NewCallback:
    return NewCallback(queue=queue, group="social", language="ar", priority=2, position=3, joined_at=joined_at,
                       caller_ref="ref", origin_uniqueid="u1", expires_at=expires_at)


# --- sealing and numbers ------------------------------------------------------------------------

def test_sealed_number_opens_only_for_its_row_and_key() -> None:
    token = SEAL.seal(NUMBER, 7)
    assert "4670" not in token and "1234567" not in token
    assert SEAL.open(token, 7) == NUMBER
    with pytest.raises(SealError):
        SEAL.open(token, 8)  # moved to another row
    with pytest.raises(SealError):
        NumberSeal(b"another-key-with-enough-bytes-00").open(token, 7)
    with pytest.raises(SealError):
        SEAL.open(token[:-4] + "AAAA", 7)


@pytest.mark.parametrize(("raw", "number"), [
    ("0701234567", "+46701234567"), ("+46701234567", "+46701234567"), ("0046401234567", "+46401234567"),
    ("040341000", "+4640341000"),
    ("0900123456", None),        # premium rate
    ("0939123456", None), ("099123456", None),
    ("+12025550123", None),      # abroad: not called back
    ("112", None), ("", None), ("anonymous", None), ("070123;4567", None), ("0701234567#*", None),
])
def test_which_numbers_are_called_back(raw: str, number: str | None) -> None:
    assert callback_number(raw) == number


def test_last_digits() -> None:
    assert last_digits("+46701234567") == "4567"


# --- the store -------------------------------------------------------------------------------------





def test_store_keeps_only_the_sealed_number_and_drops_it_when_finished(db_url: str) -> None:
    db = open_database(db_url)
    try:
        created = store.create(db, new_callback(), SEAL, NUMBER, now=1000.0)
        assert created.state == "pending" and created.number_sealed
        assert SEAL.open(created.number_sealed, created.id) == NUMBER
        raw = db.fetchall("SELECT * FROM callbacks")
        assert not any("1234567" in str(value) for row in raw for value in row)
        assert store.move(db, created.id, "queued", 1001.0, expect=("pending",))
        assert not store.move(db, created.id, "queued", 1001.0, expect=("pending",))  # lost the race
        assert store.move(db, created.id, "connecting", 1002.0, expect=("queued",), attempts_add=1)
        assert store.move(db, created.id, "done", 1003.0, expect=("connecting",), status="ANSWER")
        done = store.get(db, created.id)
        assert done is not None and done.number_sealed is None and done.attempts == 1 and done.last_status == "ANSWER"
        assert store.purge(db, 1003.0 + store.KEEP_FINISHED_S + 1) == 1
    finally:
        db.close()


# --- the service -------------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[CallbackService]:
    view = QueueView()
    running = CallbackService(ConfigHolder([str(REPO)], load_config), f"sqlite:///{tmp_path / 'ivr.db'}", SEAL,
                              FanoutSink(), view=lambda: view, scan_every=3600, clock=Clock())
    running.attach(FakeAmi())
    # Opened and resynchronised before the loop starts: the loop's own start-up resync would otherwise
    # race with a test's first steps (and take its stand-ins, absent from the fake AMI, for lost).
    await running._open()
    await running.resync()
    await running.start()
    yield running
    await running.stop()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_callback_life_cycle_with_a_retry(service: CallbackService) -> None:
    ami, clock = service.ami, service.clock
    assert isinstance(clock, Clock)
    callback = await service.request(new_callback(), NUMBER)
    await settle()
    assert callback is not None
    standin = ami.originated[-1]
    assert standin["channel"] == f"Local/cb{callback.id}@ivr-callback-hold/n"
    assert standin["context"] == "ivr-callback-connect" and standin["exten"] == f"cb{callback.id}"
    assert standin["variables"] == {"IVR_CB_QUEUE": "kc-social", "IVR_CB_PRIO": "2", "IVR_CB_POSITION": "3",
                                    "IVR_CB_WAIT": str(10_000 - 1000), "IVR_CB_PLACEMENT": "1"}
    assert NUMBER not in str(standin)  # the number reaches Asterisk only at `connect`
    connected = await service.connect(callback.id)
    assert connected is not None and connected[1] == NUMBER
    assert await service.connect(callback.id) is None  # one agent at a time
    assert await service.result(callback.id, "NOANSWER") == "pending"
    clock.now += 299
    await service.scan()
    assert len(ami.originated) == 1  # not before retry_after (300 s)
    clock.now += 2
    await service.scan()
    await settle()
    assert ami.originated[-1]["variables"]["IVR_CB_POSITION"] == "1"  # their turn had come: the front
    assert (await service.connect(callback.id)) is not None
    assert await service.result(callback.id, "ANSWER") == "done"
    finished = await service._run_db(lambda db: store.get(db, callback.id))
    assert finished.number_sealed is None and finished.attempts == 2


async def test_gives_up_after_the_attempts(service: CallbackService) -> None:
    callback = await service.request(new_callback(), NUMBER)
    assert callback is not None
    for attempt in range(3):
        await service._run_db(lambda db: store.move(db, callback.id, "queued", 0, expect=("pending", "queued")))
        assert await service.connect(callback.id) is not None
        state = await service.result(callback.id, "BUSY")
        assert state == ("failed" if attempt == 2 else "pending")


async def test_expired_callback_is_dropped_and_its_standin_hung_up(service: CallbackService) -> None:
    callback = await service.request(new_callback(expires_at=1100.0), NUMBER)
    assert callback is not None
    service.clock.now = 1200.0  # type: ignore[attr-defined]
    await service.scan()
    row = await service._run_db(lambda db: store.get(db, callback.id))
    assert row.state == "expired" and row.number_sealed is None
    assert service.ami.actions[-1]["Action"] == "Hangup"
    assert service.ami.actions[-1]["Channel"] == f"/^Local\\/cb{callback.id}@ivr-callback-hold-/"


async def test_no_ami_means_no_promise(service: CallbackService) -> None:
    service.ami.connected = False
    assert await service.request(new_callback(), NUMBER) is None
    rows = await service._run_db(lambda db: store.in_states(db, store.OPEN_STATES))
    assert rows == []


async def test_lost_standin_is_placed_again_by_join_time(service: CallbackService) -> None:
    first = await service.request(new_callback(joined_at=900.0), NUMBER)
    kept = await service.request(new_callback(joined_at=950.0), "+46701112233")
    assert first is not None and kept is not None
    await settle()
    # Asterisk restarted: only the second stand-in is still there.
    service.ami.queue_entries = [{"Queue": "kc-social", "Channel": f"Local/cb{kept.id}@ivr-callback-hold-00000012;2"}]
    service._originates.clear()
    await service.resync()
    states = {c.id: c.state for c in await service._run_db(lambda db: store.in_states(db, store.OPEN_STATES))}
    assert states == {first.id: "pending", kept.id: "queued"}
    await service.scan()
    await settle()
    assert service.ami.originated[-1]["channel"] == f"Local/cb{first.id}@ivr-callback-hold/n"


async def test_result_left_in_astdb_while_the_daemon_was_away(service: CallbackService) -> None:
    answered = await service.request(new_callback(), NUMBER)
    unknown = await service.request(new_callback(), "+46701112233")
    assert answered is not None and unknown is not None
    for callback in (answered, unknown):
        assert await service.connect(callback.id) is not None
    service._originates.clear()
    # Both calls ended while the daemon was down; the hangup handler stored one result in astdb.
    service.ami.astdb[f"ivr-callback/{answered.id}"] = "ANSWER"
    await service.resync()
    states = {c.id: (c.state, c.number_sealed is None)
              for c in await service._run_db(lambda db: store.in_states(db, (*store.OPEN_STATES, "done")))}
    assert states == {answered.id: ("done", True), unknown.id: ("pending", False)}
    # Only read (DBGet, class `reporting`): the dialplan deletes the key when a next attempt connects.
    assert {a["Action"] for a in service.ami.actions} & {"DBDel", "DBPut"} == set()
    await service.resync()  # read again: the callback is done, so nothing changes
    assert (await service._run_db(lambda db: store.get(db, answered.id))).state == "done"


async def test_standin_that_ends_unanswered_is_placed_again(service: CallbackService) -> None:
    service.ami.originate_error = AmiOriginateFailed("no answer", reason="1")
    callback = await service.request(new_callback(), NUMBER)
    await settle()
    assert callback is not None
    row = await service._run_db(lambda db: store.get(db, callback.id))
    assert row.state == "pending" and row.last_status == "standin-ended"


# --- the caller's dialogue (FastAGI route `callback`) -----------------------------------------------

@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path)
    running = Daemon(settings)
    running.callbacks.attach(FakeAmi())
    running.app.ami = running.callbacks.ami
    await running.start()
    await running.callbacks._open()
    # The service's own start-up resync must be over before a test's stand-ins exist (the fake AMI
    # has none: a late resync would take them for lost).
    await asyncio.wait_for(running.callbacks._synced.wait(), 10)
    yield running
    await running.stop(grace=1)


QUEUED = {"IVR_QUEUED": "kc-social", "QUEUEPOSITION": "4", "QUEUE_PRIO": "1", "IVR_QUEUE_JOINED": "1790000000.5"}


async def ask(daemon: Daemon, keys: str, caller: str = NUMBER) -> AgiPhone:
    return await agi_session(daemon.server.port, "callback", AgiPhone(QUEUED, keys), args=("request",),
                             caller=caller)


async def test_caller_confirms_their_own_number(daemon: Daemon) -> None:
    phone = await ask(daemon, "---1")  # listens to the number, its digits and the choices, then presses 1
    assert phone.set_by_route == {"IVR_RESULT": "callback"}
    assert "digits:4567" in phone.played and phone.played[-1] == "ivr/sv/callback-confirmed"
    rows = await daemon.callbacks._run_db(lambda db: store.in_states(db, store.OPEN_STATES))
    assert [(r.queue, r.position, r.priority, r.joined_at) for r in rows] == [("kc-social", 4, 1, 1790000000.5)]
    assert daemon.callbacks.seal.open(rows[0].number_sealed, rows[0].id) == NUMBER


async def test_caller_enters_another_number(daemon: Daemon) -> None:
    phone = await ask(daemon, "--2" + "0701112233#" + "---1")
    assert phone.set_by_route == {"IVR_RESULT": "callback"}
    assert "digits:2233" in phone.played


async def test_withheld_caller_must_enter_a_number_and_a_bad_one_is_refused(daemon: Daemon) -> None:
    phone = await ask(daemon, "0900123456#" + "0701112233#" + "---1", caller="anonymous")
    assert "ivr/sv/callback-invalid-number" in phone.played
    assert phone.set_by_route == {"IVR_RESULT": "callback"}


async def test_star_goes_back_to_the_queue(daemon: Daemon) -> None:
    phone = await ask(daemon, "*")
    assert phone.set_by_route == {}  # no IVR_RESULT: the dialplan puts the caller back in their place
    assert await daemon.callbacks._run_db(lambda db: store.in_states(db, store.OPEN_STATES)) == []


async def test_unknown_queue_is_not_booked(daemon: Daemon) -> None:
    phone = await agi_session(daemon.server.port, "callback", AgiPhone({**QUEUED, "IVR_QUEUED": "kc-x"}, "1"),
                              args=("request",))
    assert phone.set_by_route == {} and phone.played == ["ivr/sv/callback-unavailable"]


async def test_connect_hands_over_the_number_once(daemon: Daemon) -> None:
    await ask(daemon, "---1")
    rows = await daemon.callbacks._run_db(lambda db: store.in_states(db, store.OPEN_STATES))
    exten = f"cb{rows[0].id}"
    phone = await agi_session(daemon.server.port, "callback", AgiPhone({}), args=("connect",), extension=exten)
    main_number = daemon.app.config.current.rules.main_number  # the contact center calls back
    assert phone.set_by_route == {"IVR_CB_RING": "30", "IVR_CB_CALLERID": main_number, "IVR_CB_TARGET": NUMBER}
    again = await agi_session(daemon.server.port, "callback", AgiPhone({}), args=("connect",), extension=exten)
    assert again.set_by_route == {}
    # The hangup handler of the call to the citizen reports how it ended.
    await daemon.callbacks.on_user_event({"Event": "UserEvent", "UserEvent": "IvrCallbackDone",
                                          "CallbackId": str(rows[0].id), "DialStatus": "ANSWER"})
    # Only read access to astdb: the daemon's AMI login has no `system` class (DBDel, DBPut).
    assert not [a for a in daemon.callbacks.ami.actions if a["Action"] in ("DBDel", "DBPut", "DBDelTree")]
    row = await daemon.callbacks._run_db(lambda db: store.get(db, rows[0].id))
    assert row.state == "done" and row.number_sealed is None
