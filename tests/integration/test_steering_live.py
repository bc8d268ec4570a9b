"""Supervisors' steering on the real Asterisk with the real daemon (docs/steering.md): a temporary message
before the menu only inside its window (the daemon's test clock), a group switched off, and the line's
switch closing and re-opening the line with the daemon running and stopped. `ivr messages` / `ivr switch`
run as a supervisor would run them, against this instance's AMI; citizens call over SIP. With the
dialplan's first daemon down (a dead port first in IVR_AGI_HOSTS), a supervisor's *54 still records its
message: `ask` and `commit` each go on to the next daemon."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.agi_hosts import agi_tries
from harness.ami import AmiClient
from harness.citizens import CitizenHandle, Citizens
from harness.daemon import REPO, DaemonProcess
from harness.loop_phone import loop_phone
from harness.ports import AMI_PORT
from harness.sandbox import Sandbox

from ivr.steering.entry import FAMILY

pytestmark = pytest.mark.real_daemon

TEXTS = ["sv=Vi vet om vattenläckan i Limhamn.", "en=We know about the water outage in Limhamn.",
         "ar=نعلم بانقطاع المياه في ليمهامن."]
CLOSED = ["sv=Linjen är stängd på grund av stormen.", "en=The line is closed because of the storm.",
          "ar=الخط مغلق بسبب العاصفة."]


@pytest.fixture
def steer(asterisk: Sandbox, tmp_path: Path) -> Iterator[object]:
    """Runs `ivr <args>` as a supervisor's shell would; AstDB's steering is wiped after the test (the
    sandbox is shared by the session's other tests)."""
    env = {**os.environ, "IVR_AMI_PORT": str(AMI_PORT),
           "IVR_AMI_ADMIN_SECRET": os.environ.get("IVR_AMI_ADMIN_SECRET", "ivr-admin-dev-secret"),
           "IVR_ASTERISK_ROOT": str(asterisk.root), "IVR_DB_URL": f"sqlite:///{tmp_path / 'steer.db'}"}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "ivr", *args, "--config", str(REPO)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"ivr {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    try:
        yield run
    finally:
        asterisk.cli(f"database deltree {FAMILY}")


def sound_dir(asterisk: Sandbox, key: str) -> str:
    shown = asterisk.cli(f"database get {FAMILY} {key}")
    found = re.search(r"\|(/var/lib/asterisk/ivr-steer/[A-Za-z0-9_-]+)\|", shown)
    assert found, shown
    return found.group(1)


async def played_by_daemon(call: CitizenHandle, asterisk: Sandbox, sound: str, timeout: float = 30) -> None:
    """The daemon streamed `sound` to the caller and Asterisk played all of it: STREAM FILE took as long
    as the recording lasts (a missing file returns at once)."""
    start = await call.wait_for(lambda e: e.Event == "AGIExecStart" and sound in (e.Command or ""), timeout,
                                what=sound)
    end = await call.wait_for(lambda e: e.Event == "AGIExecEnd" and sound in (e.Command or ""), 30, what=sound)
    with wave.open(str(asterisk.root / f"{sound.lstrip('/')}.wav")) as audio:
        length = audio.getnframes() / audio.getframerate()
    took = float(end.Timestamp or 0) - float(start.Timestamp or 0)
    assert end.ResultCode == "200" and length > 1 and took > 0.9 * length, (took, length)


async def to_the_menu(call: CitizenHandle) -> None:
    """Sv chosen at the language prompt; the menu key (`then`) is pressed once the main menu plays."""
    await call.wait_for(lambda e: e.Event == "AGIExecStart" and "ivr/main/sv/main_menu" in (e.Command or ""), 60,
                        what="the main menu")
    await call.press()


async def test_message_plays_before_the_menu_only_inside_its_window(
        citizens: Citizens, daemon: DaemonProcess, steer, asterisk: Sandbox) -> None:  # type: ignore[no-untyped-def]
    print(steer("messages", "set", "--supervisor", "lena.strand", *[f"--text={t}" for t in TEXTS],
                "--from", "2026-12-22T09:00", "--until", "2026-12-22T12:00"))
    folder = sound_dir(asterisk, "message/all")
    inside, outside = await asyncio.gather(*[
        citizens.call(dtmf="w1", then=["1"], first_wait=1, hold=90, caller_id=f"+4670111400{i}",
                      variables={"IVR_TEST_NOW": moment})
        for i, moment in enumerate(("2026-12-22T10:00", "2026-12-22T12:30"))])
    await asyncio.gather(to_the_menu(inside), to_the_menu(outside))
    for call in (inside, outside):
        join = await call.wait_event(60, Event="QueueCallerJoin")
        assert join.Queue == "kc-school"
    await played_by_daemon(inside, asterisk, f"{folder}/sv")
    assert not outside.events(lambda e: e.Event == "AGIExecStart" and folder in (e.Command or ""))
    finished = {}
    for call in (inside, outside):
        finished[call.uniqueid] = await daemon.wait_log(
            lambda line, uid=call.uniqueid: line.get("event") == "menu finished" and line.get("uniqueid") == uid)
    nodes_inside = finished[inside.uniqueid]["nodes"]
    assert nodes_inside[:3] == ["welcome", "choose_language", "@message"]  # after the language, before the menu
    assert "@message" not in finished[outside.uniqueid]["nodes"]
    audit = steer("messages", "audit", "--json")
    assert '"actor": "lena.strand"' in audit and '"action": "message.set"' in audit


async def test_group_switch_ends_the_call_before_the_groups_queue(
        citizens: Citizens, daemon: DaemonProcess, steer, asterisk: Sandbox) -> None:  # type: ignore[no-untyped-def]
    steer("switch", "close", "--group", "school", "--supervisor", "lena.strand", *[f"--text={t}" for t in CLOSED])
    folder = sound_dir(asterisk, "switch/queue/kc-school")
    call = await citizens.call(dtmf="w1", then=["1"], first_wait=1, hold=60, caller_id="+46701114010",
                               variables={"IVR_TEST_NOW": "2026-12-22T10:00"})
    await to_the_menu(call)
    await played_by_daemon(call, asterisk, f"{folder}/sv")
    await call.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value == "hangup", 30)
    assert not call.events(lambda e: e.Event == "QueueCallerJoin")
    finished = await daemon.wait_log(
        lambda line: line.get("event") == "menu finished" and line.get("uniqueid") == call.uniqueid)
    assert finished["outcome"] == "message" and finished["nodes"][-1] == "@switch:school"
    steer("switch", "open", "--group", "school", "--supervisor", "lena.strand")
    assert "kc-school" not in asterisk.cli(f"database show {FAMILY}")


async def line_closed_call(citizens: Citizens, folder: str, caller: str) -> CitizenHandle:
    """A call to the closed line: the dialplan plays the switch's message in every language, then hangs up."""
    call = await citizens.call(dtmf="", first_wait=1, hold=60, caller_id=caller)
    for language in ("sv", "en", "ar"):
        await call.wait_event(30, Event="Newexten", Context="ivr-steer-play", Application="Playback",
                              AppData=f"{folder}/{language}")
    await call.wait_hangup(30)
    statuses = call.events(lambda e: e.Event == "VarSet" and e.Variable == "PLAYBACKSTATUS")
    assert [s.Value for s in statuses][-3:] == ["SUCCESS"] * 3
    assert not call.events(lambda e: e.Event == "QueueCallerJoin")
    assert not call.events(lambda e: e.Event == "AGIExecStart")  # the daemon was never asked
    return call


async def test_line_switch_closes_and_reopens_with_the_daemon_running_and_stopped(
        citizens: Citizens, daemon: DaemonProcess, steer, asterisk: Sandbox) -> None:  # type: ignore[no-untyped-def]
    steer("switch", "close", "--supervisor", "lena.strand", *[f"--text={t}" for t in CLOSED])
    folder = sound_dir(asterisk, "switch/all")
    assert "closed" in steer("switch", "status")
    await line_closed_call(citizens, folder, "+46701114020")
    await daemon.stop()
    await line_closed_call(citizens, folder, "+46701114021")
    steer("switch", "open", "--supervisor", "lena.strand")
    call = await citizens.call(dtmf="", first_wait=1, hold=30, caller_id="+46701114022")
    joined = await call.wait_event(30, Event="QueueCallerJoin")
    assert joined.Queue == "kc-general"  # open again: the daemon being down, the dialplan's fallback
    actions = [line.split()[3] for line in steer("messages", "audit").splitlines()]
    assert actions == ["switch.clear", "switch.set"]


async def test_dialplan_honours_the_window_when_the_daemon_is_down(
        citizens: Citizens, daemon: DaemonProcess, steer, asterisk: Sandbox) -> None:  # type: ignore[no-untyped-def]
    await daemon.stop()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    steer("messages", "set", "--supervisor", "lena.strand", *[f"--text={t}" for t in TEXTS],
          "--from", later.isoformat(timespec="minutes"),
          "--until", (later + dt.timedelta(hours=1)).isoformat(timespec="minutes"))
    waiting = sound_dir(asterisk, "message/all")
    early = await citizens.call(dtmf="", first_wait=1, hold=30, caller_id="+46701114030")
    assert (await early.wait_event(30, Event="QueueCallerJoin")).Queue == "kc-general"
    assert not early.events(lambda e: e.Event == "Newexten" and e.Application == "Playback"
                            and waiting in (e.AppData or ""))
    assert early.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-steer-message")  # it did look
    steer("messages", "set", "--supervisor", "lena.strand", *[f"--text={t}" for t in TEXTS],
          "--until", (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)).isoformat(timespec="minutes"))
    now_playing = sound_dir(asterisk, "message/all")
    call = await citizens.call(dtmf="", first_wait=1, hold=60, caller_id="+46701114031")
    played = await call.wait_event(30, Event="Newexten", Context="ivr-steer-play", Application="Playback",
                                   AppData=f"{now_playing}/sv")
    apology = await call.wait_event(30, Event="Newexten", Application="Playback", AppData="ivr/sv/fallback")
    assert int(played.index) < int(apology.index)  # the message, then the apology and the queue
    assert (await call.wait_event(60, Event="QueueCallerJoin")).Queue == "kc-general"


@pytest.fixture
def lenas_phone(asterisk: Sandbox) -> Iterator[str]:
    """A test endpoint that dials this Asterisk as Lena's phone 1901 would (as in test_supervisor_spy.py)."""
    with loop_phone(asterisk, "1901", "supervisor-phones") as endpoint:
        yield endpoint


async def dial(ami: AmiClient, phone: str, code: str) -> int:
    """Lena dials `code`; her phone talks (the sandbox's [supervisor-sim]: a 1000 Hz tone) until hung up."""
    since = ami.recorder.mark()
    await ami.action("Originate", Channel=f"PJSIP/{code}@{phone}", Context="supervisor-sim", Exten="1901",
                     Priority="1", Async="true", Timeout="10000")
    return since


async def test_supervisor_closes_and_opens_the_line_by_phone(
        citizens: Citizens, daemon: DaemonProcess, ami: AmiClient, lenas_phone: str,
        asterisk: Sandbox) -> None:
    try:
        since = await dial(ami, lenas_phone, "*52")
        record = await ami.recorder.wait_for(lambda e: e.Event == "Newexten" and e.Context == "supervisor-steer"
                                             and e.Application == "Record", 30, since=since, what="Record()")
        await asyncio.sleep(3)  # Lena speaks for three seconds, then presses #
        phone_leg = ami.recorder.first(lambda e: e.Event == "Newchannel"
                                       and str(e.Channel).startswith(f"PJSIP/{lenas_phone}-"), since)
        assert phone_leg is not None
        await ami.action("PlayDTMF", Channel=phone_leg.Channel, Digit="#", Duration="200")
        await ami.recorder.wait_for(lambda e: e.Event == "AGIExecStart" and "steer-closed" in (e.Command or ""), 30,
                                    since=since, what="the confirmation")
        recording = (record.AppData or "").split(",")[0]
        with wave.open(str(asterisk.root / recording.lstrip("/"))) as audio:
            assert audio.getnframes() / audio.getframerate() > 1.5  # what Lena said, not silence trimmed away
        folder = sound_dir(asterisk, "switch/all")
        assert recording == f"{folder}/sv.wav"
        call = await citizens.call(dtmf="", first_wait=1, hold=30, caller_id="+46701114040")
        played = await call.wait_event(30, Event="Newexten", Context="ivr-steer-play", Application="Playback",
                                       AppData=f"{folder}/sv")
        assert played and not call.events(lambda e: e.Event == "AGIExecStart")
        await call.wait_hangup(30)
        assert not call.events(lambda e: e.Event == "QueueCallerJoin")
        since = await dial(ami, lenas_phone, "*53")
        await ami.recorder.wait_for(lambda e: e.Event == "AGIExecStart" and "steer-opened" in (e.Command or ""), 30,
                                    since=since, what="the line opened")
        assert "switch/all" not in asterisk.cli(f"database show {FAMILY}")
        opened = await citizens.call(dtmf="", first_wait=1, hold=30, caller_id="+46701114041",
                                     variables={"IVR_TEST_NOW": "2026-12-22T10:00"})
        await opened.wait_for(lambda e: e.Event == "AGIExecStart" and "ivr/main/sv/welcome" in (e.Command or ""), 30)
        audit = daemon.state_dir / "ivr.db"
        rows = subprocess.run([sys.executable, "-m", "ivr", "messages", "audit", "--json", "--config", str(REPO),
                               "--db", f"sqlite:///{audit}"], capture_output=True, text=True, cwd=REPO, check=True)
        entries = [(row["actor"], row["via"], row["action"]) for row in json.loads(rows.stdout)]
        assert entries == [("lena.strand", "phone", "switch.clear"), ("lena.strand", "phone", "switch.set")]
        assert "1901" not in rows.stdout  # the phone's number is not in the audit
    finally:
        asterisk.cli(f"database deltree {FAMILY}")


async def test_with_the_first_daemon_down_the_next_one_takes_the_message(
        daemon: DaemonProcess, ami: AmiClient, lenas_phone: str, asterisk: Sandbox, first_daemon_down: str) -> None:
    dead, live = first_daemon_down, f"127.0.0.1:{daemon.agi_port}"
    try:
        since = await dial(ami, lenas_phone, "*541")  # a message for the whole line, for one hour
        await ami.recorder.wait_for(lambda e: e.Event == "Newexten" and e.Context == "supervisor-steer"
                                    and e.Application == "Record", 30, since=since, what="Record()")
        await asyncio.sleep(2)  # Lena speaks, then presses #
        phone_leg = ami.recorder.first(lambda e: e.Event == "Newchannel"
                                       and str(e.Channel).startswith(f"PJSIP/{lenas_phone}-"), since)
        assert phone_leg is not None
        await ami.action("PlayDTMF", Channel=phone_leg.Channel, Digit="#", Duration="200")
        await ami.recorder.wait_for(lambda e: e.Event == "AGIExecStart" and "steer-message-set" in (e.Command or ""),
                                    30, since=since, what="the confirmation")
        await ami.recorder.wait_for(lambda e: e.Event == "Hangup" and str(e.Channel).startswith("PJSIP/1901-"), 20,
                                    since=since, what="the dialplan hanging up after `commit`")
        steer_leg = ami.recorder.find(lambda e: str(e.Channel).startswith("PJSIP/1901-"), since)
        for step in ("ask", "commit"):
            route = f"steer,{step},message1"
            assert agi_tries(steer_leg, route) == [(f"agi://{dead}/{route}", "FAILURE"),
                                                   (f"agi://{live}/{route}", "SUCCESS")], step
        assert sound_dir(asterisk, "message/all")  # what the second daemon's `commit` wrote
    finally:
        asterisk.cli(f"database deltree {FAMILY}")
