"""The daemon's `outbound` route over a real TCP FastAGI session (Asterisk faked on the wire): the caller
ID it sets, the attempt it registers, the dial's end it records (the hangup handler's AMI UserEvent),
the pre-call notice, and no number in its log."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ivr.contacts.dial_end import DialEndListener
from ivr.contacts.registry import ContactRegistry
from ivr.contacts.store import ATTEMPT_ID_PATTERN
from ivr.daemon import Daemon
from ivr.events import names
from ivr.events.sink import FanoutSink, MemorySink
from ivr.logs import configure_logging
from ivr.settings import Settings
from ivr.store.db import Database
from ivr.testing.fake_asterisk import FakeChannel, agi_headers

REPO = Path(__file__).resolve().parents[2]
CITIZEN = "0701234567"


async def agi(port: int, args: tuple[str, ...], *, caller: str = "2101") -> FakeChannel:
    """One FastAGI session as Asterisk runs `AGI(agi://…/outbound,<args>)`; returns what the route set."""
    channel = FakeChannel()
    extra = {f"agi_arg_{index}": arg for index, arg in enumerate(args, 1)}
    extra.update({"agi_context": "ivr-outbound", "agi_extension": "s", "agi_callerid": caller})
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    uniqueid = f"{time.time():.6f}"
    writer.write(agi_headers("outbound", uniqueid=uniqueid, caller=caller, dnid="s", port=port, extra=extra))
    await writer.drain()
    try:
        while line := await reader.readline():
            writer.write(channel.answer(line.decode().rstrip("\n")).text.encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()
    return channel


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key()
    key_file = tmp_path / "gateway.pem"
    key_file.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, precall_key_file=str(key_file),
                        wallboard_port=0)
    running = Daemon(settings)
    await running.start()
    yield running
    await running.stop(grace=1)


def attempts(daemon: Daemon) -> list[tuple[object, ...]]:
    assert daemon.app.contacts is not None
    url = daemon.settings.state_dir / "ivr.db"
    db = Database(f"sqlite:///{url}")
    try:
        return db.fetchall("SELECT placer, department, shown, purpose, outcome, number_hash FROM contact_attempts")
    finally:
        db.close()


def registry(daemon: Daemon) -> ContactRegistry:
    assert daemon.app.contacts is not None
    return daemon.app.contacts.registry


async def settled(daemon: Daemon) -> None:
    await registry(daemon).settled()


def dial_ended(daemon: Daemon, attempt_id: str, dialstatus: str) -> None:
    """What the hangup handler [ivr-outbound-done] sends over AMI when the dial is over."""
    DialEndListener(registry(daemon)).on_user_event(
        {"Event": "UserEvent", "UserEvent": "IvrOutboundDone", "Uniqueid": "sim-1", "Attempt": attempt_id,
         "DialStatus": dialstatus})


async def test_official_shows_the_direct_line_and_nothing_is_registered(daemon: Daemon) -> None:
    channel = await agi(daemon.server.port, (CITIZEN, "2101", ""))
    assert channel.set_by_route == {
        "CALLERID(num)": "+4640342101", "CALLERID(name)": "Malmö stad", "CALLERID(pres)": "allowed_not_screened",
        "IVR_OUT_NUMBER": CITIZEN, "IVR_OUT_SHOWN": "direct_line", "IVR_OUT_PURPOSE": "",
        "IVR_OUT_DEPARTMENT": "social_services", "IVR_OUT_ATTEMPT": "", "IVR_OUT_RESULT": "dial"}
    assert list(channel.set_by_route)[-1] == "IVR_OUT_RESULT"  # last: a half-done session falls back
    await settled(daemon)
    assert attempts(daemon) == []


async def test_main_number_registers_the_attempt_and_its_end(daemon: Daemon) -> None:
    channel = await agi(daemon.server.port, ("*810" + CITIZEN, "2102", ""), caller="2102")
    values = channel.set_by_route
    assert (values["CALLERID(num)"], values["IVR_OUT_SHOWN"], values["IVR_OUT_PURPOSE"]) == \
        ("+4640341000", "main_number", "callback")
    assert values["IVR_OUT_NUMBER"] == CITIZEN
    attempt_id = values["IVR_OUT_ATTEMPT"]
    assert __import__("re").fullmatch(ATTEMPT_ID_PATTERN, attempt_id)
    await settled(daemon)
    [row] = attempts(daemon)
    assert row[:5] == ("johan.ek", "education", "main_number", "callback", "dialling")
    assert row[5] == daemon.app.hasher.digest("+46701234567")
    dial_ended(daemon, attempt_id, "BUSY")
    await settled(daemon)
    assert attempts(daemon)[0][4] == "busy"


async def test_withheld_and_department_number(daemon: Daemon) -> None:
    withheld = await agi(daemon.server.port, (CITIZEN, "2104", ""), caller="2104")
    assert (withheld.set_by_route["CALLERID(pres)"], withheld.set_by_route["CALLERID(name)"]) == \
        ("prohib_not_screened", "")
    assert withheld.set_by_route["IVR_OUT_ATTEMPT"] == ""
    department = await agi(daemon.server.port, ("*811+46701234567", "2101", ""))
    assert department.set_by_route["CALLERID(num)"] == "+4640343000"
    assert department.set_by_route["IVR_OUT_SHOWN"] == "department_number"
    await settled(daemon)
    assert [row[2] for row in attempts(daemon)] == ["department_number"]


async def test_purpose_set_on_the_channel_and_the_contact_centers_own_calls(daemon: Daemon) -> None:
    agent = await agi(daemon.server.port, (CITIZEN, "1001", "callback"), caller="1001")
    assert (agent.set_by_route["IVR_OUT_PURPOSE"], agent.set_by_route["IVR_OUT_SHOWN"]) == ("callback", "main_number")
    system = await agi(daemon.server.port, ("+46701234567", "", ""), caller="")
    assert system.set_by_route["CALLERID(num)"] == "+4640341000"
    await settled(daemon)
    assert sorted(str(row[0]) for row in attempts(daemon)) == ["", "anna.andersson"]


@pytest.mark.parametrize("args", [(CITIZEN, "9999", ""), ("07012x4567", "2101", ""), (CITIZEN, "21;01", ""), ()])
async def test_what_the_daemon_cannot_decide_is_left_to_the_dialplans_fallback(daemon: Daemon,
                                                                                args: tuple[str, ...]) -> None:
    channel = await agi(daemon.server.port, args)
    assert channel.set_by_route == {}


async def test_junk_reports_of_a_dials_end_change_nothing(daemon: Daemon) -> None:
    channel = await agi(daemon.server.port, ("*810" + CITIZEN, "2102", ""), caller="2102")
    attempt_id = channel.set_by_route["IVR_OUT_ATTEMPT"]
    listener = DialEndListener(registry(daemon))
    listener.on_user_event({"Event": "UserEvent", "UserEvent": "QueueSnapshot", "Attempt": attempt_id,
                            "DialStatus": "ANSWER"})  # someone else's event
    for attempt, status in ((attempt_id.upper(), "ANSWER"), ("x'; DROP TABLE contact_attempts; --", "ANSWER"),
                            (attempt_id, "answer; --")):
        dial_ended(daemon, attempt, status)
    await settled(daemon)
    assert attempts(daemon)[0][4] == "unknown"  # the only valid id, with a status that is not a DIALSTATUS
    dial_ended(daemon, attempt_id, "ANSWER")  # reported once: the first report stands
    await settled(daemon)
    assert attempts(daemon)[0][4] == "unknown"


async def test_precall_notice_for_social_services_has_the_number_sealed(daemon: Daemon) -> None:
    sink = MemorySink()
    assert isinstance(daemon.app.events, FanoutSink)
    daemon.app.events.add(sink)
    await agi(daemon.server.port, (CITIZEN, "2101", ""))
    await agi(daemon.server.port, (CITIZEN, "2102", ""), caller="2102")  # education sends no notice
    notices = [data for event, _, data in sink.events if event == names.PRECALL_NOTICE]
    assert len(notices) == 1
    assert notices[0]["department"] == "social_services" and notices[0]["shown_number"] == "+4640342101"
    assert notices[0]["recipient"]["alg"] == "RSA-OAEP-SHA256"
    assert "701234567" not in json.dumps(sink.events, default=str)


async def test_no_number_in_the_daemons_log(daemon: Daemon) -> None:
    buffer = io.StringIO()
    configure_logging("info", stream=buffer)
    try:
        channel = await agi(daemon.server.port, ("*810" + CITIZEN, "2102", ""), caller="2102")
        dial_ended(daemon, channel.set_by_route["IVR_OUT_ATTEMPT"], "NOANSWER")
        await settled(daemon)
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    decided = next(line for line in lines if line.get("event") == "outbound caller ID decided")
    assert decided["to"] == "070*****67" and decided["shown"] == "main_number"
    assert any(line.get("event") == "outbound call ended" and line["outcome"] == "no_answer" for line in lines)
    assert "701234567" not in buffer.getvalue()
