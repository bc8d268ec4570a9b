"""The daemon's side of steering over a real TCP FastAGI session (Asterisk and its AstDB faked on the wire):
the inbound route reading the switches and messages, and the supervisors' feature-code route `steer`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.daemon import Daemon
from ivr.settings import Settings
from ivr.steering import store
from ivr.store.db import open_database
from ivr.testing.fake_asterisk import fake_call

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = {"IVR_TEST_NOW": "2026-12-22T10:00"}
FOLDER = "/var/lib/asterisk/ivr-steer/message-all-x"
TEN, NOON = 1797930000, 1797937200  # 2026-12-22 10:00 and 12:00 in Stockholm


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, allow_test_clock=True)
    running = Daemon(settings)
    await running.start()
    yield running
    await running.stop(grace=1)


def streamed(commands: list[str]) -> list[str]:
    return [line.split('"')[1] for line in commands if line.startswith("STREAM FILE")]


async def test_inbound_plays_the_lines_message_inside_its_window(daemon: Daemon) -> None:
    astdb = {"ivr-steer/message/all": f"{TEN}|{NOON}|{FOLDER}|sv&en&ar"}
    result = await fake_call(daemon.server.port, keys=["2", "4"], variables=WEEKDAY, astdb=astdb)
    assert f"{FOLDER}/en" in streamed(result.commands)
    assert result.variables["IVR_STEER_HEARD"] == "1" and result.variables["IVR_QUEUE"] == "kc-streets"
    result = await fake_call(daemon.server.port, keys=["2", "4"], variables={"IVR_TEST_NOW": "2026-12-22T12:00"},
                             astdb=astdb)
    assert FOLDER not in " ".join(result.commands) and "IVR_STEER_HEARD" not in result.variables


async def test_inbound_with_a_group_switched_off(daemon: Daemon) -> None:
    astdb = {"ivr-steer/switch/queue/kc-streets": f"0|0|{FOLDER}|sv"}
    result = await fake_call(daemon.server.port, keys=["2", "4"], variables=WEEKDAY, astdb=astdb)
    assert streamed(result.commands)[-1] == f"{FOLDER}/sv"  # the group's only language, for an English caller
    assert result.variables["IVR_RESULT"] == "hangup" and "IVR_QUEUE" not in result.variables


def astdb_reads(commands: list[str]) -> list[str]:
    return [line for line in commands if line.startswith(("DATABASE GET", "GET FULL VARIABLE"))]


NOTHING_SET = {"agi_arg_1": "0"}  # [ivr-entry]'s argument: the length of ${DB_KEYS(ivr-steer)}


async def test_with_nothing_set_a_call_looks_once_before_the_queue(daemon: Daemon) -> None:
    """The dialplan found no steering as the call came in: no read for the line; one look at which
    queues have entries when the caller reaches the group (nothing listed: no key is read)."""
    result = await fake_call(daemon.server.port, keys=["2", "4"], variables=WEEKDAY, astdb={},
                             extra_headers=NOTHING_SET)
    assert astdb_reads(result.commands) == [
        'GET FULL VARIABLE "${DB_KEYS(ivr-steer/message/queue)}|${DB_KEYS(ivr-steer/switch/queue)}"']
    assert result.variables["IVR_QUEUE"] == "kc-streets"


async def test_a_group_switched_off_during_the_menu_still_ends_the_call(daemon: Daemon) -> None:
    """The argument only spares the line's reads: a group's switch set after the call came in (the
    dialplan saw nothing) is found when the caller reaches the group, and only its keys are read."""
    astdb = {"ivr-steer/switch/queue/kc-streets": f"0|0|{FOLDER}|sv",
             "ivr-steer/message/queue/kc-school": f"{TEN}|{NOON}|{FOLDER}|sv"}
    result = await fake_call(daemon.server.port, keys=["2", "4"], variables=WEEKDAY, astdb=astdb,
                             extra_headers=NOTHING_SET)
    assert astdb_reads(result.commands)[1:] == ['DATABASE GET "ivr-steer" "switch/queue/kc-streets"']
    assert result.variables["IVR_RESULT"] == "hangup" and streamed(result.commands)[-1] == f"{FOLDER}/sv"


async def test_without_the_argument_the_line_is_read_as_before(daemon: Daemon) -> None:
    """An older dialplan (no argument) or a non-zero one: the line's switch and message are read."""
    for headers in ({}, {"agi_arg_1": "14"}):
        result = await fake_call(daemon.server.port, keys=["2", "4"], variables=WEEKDAY, astdb={},
                                 extra_headers=headers)
        assert astdb_reads(result.commands)[:2] == ['DATABASE GET "ivr-steer" "switch/all"',
                                                    'DATABASE GET "ivr-steer" "message/all"']


async def test_a_phone_that_is_not_a_supervisors_is_refused(daemon: Daemon) -> None:
    astdb: dict[str, str] = {}
    for phone in ("1002", "", "1901;x"):
        result = await fake_call(daemon.server.port, route="steer", variables={"IVR_STEER_PHONE": phone},
                                 extra_headers={"agi_arg_1": "ask", "agi_arg_2": "close"}, astdb=astdb)
        assert result.variables == {"IVR_STEER_RESULT": "unknown_phone"}
    assert astdb == {}


async def test_a_supervisor_closes_and_opens_the_line_by_phone(daemon: Daemon, tmp_path: Path) -> None:
    astdb: dict[str, str] = {}
    lena = {"IVR_STEER_PHONE": "1901"}
    asked = await fake_call(daemon.server.port, route="steer", variables=lena,
                            extra_headers={"agi_arg_1": "ask", "agi_arg_2": "close"}, astdb=astdb)
    recording = asked.variables["IVR_STEER_RECORD"]
    assert asked.variables["IVR_STEER_RESULT"] == "record" and astdb == {}
    assert recording.startswith("/var/lib/asterisk/ivr-steer/switch-all-") and recording.endswith("/sv")
    elsewhere = await fake_call(daemon.server.port, route="steer", astdb=astdb,
                                variables={**lena, "IVR_STEER_RECORD": "/etc/asterisk/sv"},
                                extra_headers={"agi_arg_1": "commit", "agi_arg_2": "close"})
    assert elsewhere.variables == {"IVR_STEER_RESULT": "failed"} and astdb == {}
    done = await fake_call(daemon.server.port, route="steer", astdb=astdb,
                           variables={**lena, "IVR_STEER_RECORD": recording},
                           extra_headers={"agi_arg_1": "commit", "agi_arg_2": "close"})
    assert done.variables == {"IVR_STEER_RESULT": "done"}
    assert astdb == {"ivr-steer/switch/all": f"0|0|{recording.removesuffix('/sv')}|sv"}
    opened = await fake_call(daemon.server.port, route="steer", variables=lena, astdb=astdb,
                             extra_headers={"agi_arg_1": "ask", "agi_arg_2": "open"})
    assert opened.variables == {"IVR_STEER_RESULT": "done"} and astdb == {}
    db = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    try:
        rows = [(row.actor, row.via, row.action, row.target) for row in store.audit_rows(db)]
    finally:
        db.close()
    assert rows == [("lena.strand", "phone", "switch.clear", "line"), ("lena.strand", "phone", "switch.set", "line")]


async def test_a_message_recorded_by_phone_plays_for_the_hours_dialled(daemon: Daemon) -> None:
    astdb: dict[str, str] = {}
    lena = {"IVR_STEER_PHONE": "1901"}
    asked = await fake_call(daemon.server.port, route="steer", variables=lena,
                            extra_headers={"agi_arg_1": "ask", "agi_arg_2": "message3"}, astdb=astdb)
    recording = asked.variables["IVR_STEER_RECORD"]
    assert recording.startswith("/var/lib/asterisk/ivr-steer/message-all-")
    before = int(time.time())
    await fake_call(daemon.server.port, route="steer", astdb=astdb, variables={**lena, "IVR_STEER_RECORD": recording},
                    extra_headers={"agi_arg_1": "commit", "agi_arg_2": "message3"})
    starts, ends, folder, languages = astdb["ivr-steer/message/all"].split("|")
    assert before <= int(starts) <= int(time.time()) and int(ends) - int(starts) == 3 * 3600
    assert (folder, languages) == (recording.removesuffix("/sv"), "sv")
    for what in ("message0", "message10", "close;x"):  # only *541-*549 and the named actions
        refused = await fake_call(daemon.server.port, route="steer", variables=lena,
                                  extra_headers={"agi_arg_1": "ask", "agi_arg_2": what}, astdb=astdb)
        assert refused.variables == {"IVR_STEER_RESULT": "bad_request"}
