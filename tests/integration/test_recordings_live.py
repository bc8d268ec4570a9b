"""Recorded calls on the real Asterisk with the real daemon (`ivr run`), citizens over SIP (SIPp through
the operator's trunk) answered by agent 1006's SIP phone (SIPp, sending speech for the talk time):

- kc-school asks "press 2 if you do not want this call recorded"; a citizen who lets it be gets a
  recording that is sealed (AES-GCM) as soon as the call ends, the clear file removed from Asterisk's
  spool, and `ivr recordings export` decrypts it into a WAV whose length is the talk time;
- a citizen who presses 2 is not recorded;
- kc-general (its department announces recording) plays the notice whole, a key cannot stop it, and
  records;
- kc-social (social services forbid recording) neither asks nor records;
- after its retention the daemon deletes it (the sweep's clock run ahead: a test-clock setting).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import stat
import subprocess
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.ami import AmiClient, AmiMessage
from harness.citizens import Citizens
from harness.daemon import REPO, DaemonProcess
from harness.faults import QUICK_KEYS, QUICK_PLAN
from harness.sandbox import Sandbox
from harness.sipp import SPEECH_PCAP, AgentPhone, agent_phone
from test_agent_phones_sip import reachable

from ivr.recordings import store
from ivr.store.db import open_database

EXTENSION, AGENT = "1006", "farah.ali"
INTERFACE = f"PJSIP/{EXTENSION}"
SCHOOL_STANDINS = ("2001", "2002")
GENERAL_STANDINS = ("1001", "1002", "1003")
TALK = 4.0  # seconds the agent talks before hanging up
CALLER = "+46701118801"
pytestmark = pytest.mark.real_daemon


def recording_config(folder: Path) -> list[str]:
    """The shipped agents and routing rules, with kc-school asking for consent (kept 1 day) and the
    contact center's department announcing recording, and the quick plan (a beep, then 1 = general,
    2 = school, 3 = social)."""
    shutil.copytree(REPO / "agents", folder / "agents")
    groups = folder / "agents" / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    assert text.count("    department: education\n") == 1
    groups.write_text(text.replace("    department: education\n", "    department: education\n"
                                   "    recording: {mode: ask, retention_days: 1, decline_key: \"2\"}\n"),
                      encoding="utf-8")
    officials = folder / "agents" / "officials.yaml"
    text = officials.read_text(encoding="utf-8")
    assert text.count("    name: Kontaktcenter\n") == 1
    officials.write_text(text.replace("    name: Kontaktcenter\n", "    name: Kontaktcenter\n"
                                      "    recording: {mode: announce, retention_days: 30}\n"), encoding="utf-8")
    plans = folder / "dialplans"
    plans.mkdir()
    (plans / "quick.yaml").write_text(QUICK_PLAN, encoding="utf-8")
    return [str(REPO / "routing_rules.yaml"), str(folder / "agents"), str(plans)]


@pytest.fixture
def spool(asterisk: Sandbox) -> Path:
    """MixMonitor's folder for the daemon's recordings, seen from outside the sandbox's chroot."""
    return asterisk.root / "var" / "spool" / "asterisk" / "monitor" / "ivr"


def daemon_process(tmp_path: Path, spool: Path, **env: str) -> DaemonProcess:
    config = recording_config(tmp_path / "config") if not (tmp_path / "config").exists() else [
        str(REPO / "routing_rules.yaml"), str(tmp_path / "config" / "agents"), str(tmp_path / "config" / "dialplans")]
    return DaemonProcess(state_dir=tmp_path / "daemon", config_paths=config,
                         env={"IVR_RECORDING_SPOOL": str(spool), "IVR_KEY_DIR": str(tmp_path / "keys"), **env})


@pytest.fixture
async def daemon(tmp_path: Path, spool: Path) -> AsyncIterator[DaemonProcess]:
    process = daemon_process(tmp_path, spool)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@contextlib.asynccontextmanager
async def phone_alone_in(ami: AmiClient, password: str, queue: str, standins: tuple[str, ...],
                         workdir: Path) -> AsyncIterator[AgentPhone]:
    """Agent 1006's SIP phone alone in `queue` (its static stand-ins paused); it talks TALK s."""
    for ext in standins:
        await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Queue=queue, Paused="true",
                         Reason="test")
    try:
        async with agent_phone(EXTENSION, password, talk=TALK, media=SPEECH_PCAP, workdir=workdir) as phone:
            await reachable(ami, phone)
            await ami.action("QueueAdd", Queue=queue, Interface=INTERFACE, MemberName=AGENT,
                             StateInterface=INTERFACE)
            try:
                yield phone
            finally:
                await ami.action("QueueRemove", Queue=queue, Interface=INTERFACE, check=False)
    finally:
        for ext in standins:
            await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Queue=queue, Paused="false")


@pytest.fixture
async def school_phone(ami: AmiClient, phone_passwords: dict[str, str], tmp_path: Path) -> AsyncIterator[AgentPhone]:
    async with phone_alone_in(ami, phone_passwords[EXTENSION], "kc-school", SCHOOL_STANDINS,
                              tmp_path / "phone") as phone:
        yield phone


@pytest.fixture
async def general_phone(ami: AmiClient, phone_passwords: dict[str, str], tmp_path: Path) -> AsyncIterator[AgentPhone]:
    async with phone_alone_in(ami, phone_passwords[EXTENSION], "kc-general", GENERAL_STANDINS,
                              tmp_path / "phone") as phone:
        yield phone


def ivr(daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`ivr …` as an admin on the daemon's host: the same database, state folder and keys."""
    return subprocess.run([sys.executable, "-m", "ivr", *args, "--state-dir", str(daemon.state_dir)],
                          capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
                          env=daemon.environment())


def heard(events: list[AmiMessage], prompt: str) -> bool:
    return any(e.Event == "AGIExecStart" and prompt in (e.Command or "") for e in events)


async def test_a_consenting_caller_is_recorded_sealed_and_exported_with_the_talk_time(
        ami: AmiClient, citizens: Citizens, daemon: DaemonProcess, school_phone: AgentPhone, spool: Path,
        tmp_path: Path) -> None:
    citizen = await citizens.call(caller_id=CALLER, dtmf=QUICK_KEYS["kc-school"], hold=40)
    await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "recording-ask" in (e.Command or ""), 20,
                           what="the consent question")
    await citizen.wait_event(30, Event="AgentConnect", Queue="kc-school")
    complete = await citizen.wait_event(30, Event="AgentComplete", Queue="kc-school")
    sealed_line = await daemon.wait_log(lambda line: line.get("event") == "recording sealed", 30)
    recording_id = str(sealed_line["recording"])
    # Sealed at the hangup: the clear file is gone from Asterisk's spool, the sealed one is private
    # and is not audio.
    assert not (spool / f"{recording_id}.wav").exists()
    sealed = daemon.state_dir / "recordings" / f"{recording_id}.rec"
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert not sealed.read_bytes().startswith(b"RIFF") and b"WAVE" not in sealed.read_bytes()[:64]

    listed = ivr(daemon, "recordings", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [item] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["id"], item["group"], item["department"], item["consent"], item["state"]) == \
        (recording_id, "school", "education", "asked", "stored")
    assert CALLER not in listed.stdout and CALLER[1:] not in listed.stdout

    out = tmp_path / "export.wav"
    exported = ivr(daemon, "recordings", "export", recording_id, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    with wave.open(str(out)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        assert audio.getframerate() == 8000 and audio.getnchannels() == 1
    talk_time = float(complete.TalkTime or 0)
    print(f"recorded {seconds:.2f} s; the phone talked {TALK} s; Asterisk's TalkTime {talk_time} s")
    assert TALK - 0.75 <= seconds <= TALK + 0.75
    # The number is nowhere in the daemon's database or in its log.
    for path in [daemon.state_dir / "ivr.db", daemon.log_path]:
        assert CALLER.encode() not in path.read_bytes() and CALLER[3:].encode() not in path.read_bytes()

    # Every access audited, with who did it; then a citizen's erasure by number (through the keyed hash).
    erased = subprocess.run([sys.executable, "-m", "ivr", "recordings", "delete", "--caller", "-", "--state-dir",
                             str(daemon.state_dir)], input="0701118801\n", capture_output=True, text=True,
                            timeout=60, check=False, cwd=REPO, env=daemon.environment())
    assert erased.returncode == 0 and "erased 1 recording(s)" in erased.stdout, erased.stderr
    assert not sealed.exists()
    again = ivr(daemon, "recordings", "export", recording_id, "--out", str(tmp_path / "again.wav"))
    assert again.returncode == 1 and not (tmp_path / "again.wav").exists()
    db = open_database(f"sqlite:///{daemon.state_dir / 'ivr.db'}", migrate=False)
    try:
        audit = [(actor.split(":")[0], action, rid, count) for _, actor, action, rid, count in store.audit_rows(db)]
    finally:
        db.close()
    assert audit == [("cli", "list", None, 1), ("cli", "export", recording_id, 1), ("cli", "erase-caller", None, 1),
                     ("cli", "export", recording_id, 0)]


async def test_a_caller_who_presses_2_is_not_recorded(
        ami: AmiClient, citizens: Citizens, daemon: DaemonProcess, school_phone: AgentPhone, spool: Path) -> None:
    citizen = await citizens.call(caller_id=CALLER, dtmf=QUICK_KEYS["kc-school"], then=["2"], hold=40)
    await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "recording-ask" in (e.Command or ""), 20,
                           what="the consent question")
    await citizen.press()
    await daemon.wait_log(lambda line: line.get("event") == "recording declined by the caller", 15)
    await citizen.wait_event(30, Event="AgentConnect", Queue="kc-school")
    await citizen.wait_event(30, Event="AgentComplete", Queue="kc-school")
    await citizen.wait_hangup(15)
    record = [e for e in ami.recorder.events if e.Event == "VarSet" and e.Variable == "IVR_RECORD"
              and e.Uniqueid == citizen.uniqueid]
    assert record == []
    assert not any(spool.glob("*.wav")) if spool.exists() else True
    assert not (daemon.state_dir / "recordings").exists() or not any((daemon.state_dir / "recordings").iterdir())
    listed = ivr(daemon, "recordings", "list", "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == ""


async def test_social_services_forbid_recording_no_question_no_file(
        ami: AmiClient, citizens: Citizens, daemon: DaemonProcess, spool: Path) -> None:
    citizen = await citizens.call(caller_id=CALLER, dtmf=QUICK_KEYS["kc-social"], hold=40,
                                  variables={"__AGENT_TALK": "2"})
    await citizen.wait_event(30, Event="QueueCallerJoin", Queue="kc-social")
    await citizen.wait_event(30, Event="AgentComplete", Queue="kc-social")
    await citizen.wait_hangup(15)
    events = [e for e in ami.recorder.events if e.Uniqueid == citizen.uniqueid]
    assert not heard(events, "recording-")  # neither the notice nor the question
    assert not any(e.Event == "VarSet" and e.Variable in ("IVR_RECORD", "IVR_RECORDING_ON") for e in events)
    assert not any(e.Event == "VarSet" and e.Variable == "IVR_RESULT" and e.Value != "queue" for e in events)
    assert not (spool.exists() and any(spool.glob("*.wav")))
    decided = {"recording", "recording declined by the caller", "recording sealed"}
    assert not any(line.get("event") in decided for line in daemon.log_lines(daemon.log_offset))


async def test_the_daemon_deletes_a_recording_past_its_retention(
        ami: AmiClient, citizens: Citizens, daemon: DaemonProcess, school_phone: AgentPhone, spool: Path,
        tmp_path: Path) -> None:
    citizen = await citizens.call(caller_id=CALLER, dtmf=QUICK_KEYS["kc-school"], hold=40)
    await citizen.wait_event(30, Event="AgentComplete", Queue="kc-school")
    recording_id = str((await daemon.wait_log(lambda line: line.get("event") == "recording sealed", 30))["recording"])
    sealed = daemon.state_dir / "recordings" / f"{recording_id}.rec"
    assert sealed.exists()
    await daemon.stop()
    # The same daemon two days later (kc-school keeps recordings 1 day): the sweep's test clock, and a
    # sweep every second.
    later = daemon_process(tmp_path, spool, IVR_TEST_RECORDING_AHEAD_S=str(2 * 86400), IVR_RECORDING_SWEEP_S="1")
    await later.start()
    try:
        line = await later.wait_log(lambda entry: entry.get("event") == "recordings retention sweep"
                                    and entry.get("deleted") == 1, 15)
        assert line["deleted"] == 1
        assert not sealed.exists()
        listed = ivr(later, "recordings", "list", "--json")
        assert listed.returncode == 0 and listed.stdout.strip() == ""
    finally:
        await later.stop()


async def test_the_department_announces_recording_and_a_key_does_not_stop_it(
        ami: AmiClient, citizens: Citizens, daemon: DaemonProcess, general_phone: AgentPhone, spool: Path,
        tmp_path: Path) -> None:
    # kc-general is closed evenings: the call is placed on a weekday at 10:00 (the daemon's test clock).
    citizen = await citizens.call(caller_id=CALLER, dtmf=QUICK_KEYS["kc-general"], then=["2"], hold=40,
                                  variables={"IVR_TEST_NOW": "2026-12-02T10:00"})
    notice = await citizen.wait_for(lambda e: e.Event == "AGIExecStart" and "recording-notice" in (e.Command or ""),
                                    20, what="the recording notice")
    await citizen.press()  # 2 during the notice: an announcement offers no choice
    done = await citizen.wait_for(lambda e: e.Event == "AGIExecEnd" and "recording-notice" in (e.Command or ""),
                                  20, since=notice.index, what="the notice played to its end")
    assert notice.Command == 'STREAM FILE "ivr/sv/recording-notice" ""' and done.index > notice.index  # no key stops it
    await citizen.wait_event(30, Event="AgentConnect", Queue="kc-general")
    await citizen.wait_event(30, Event="AgentComplete", Queue="kc-general")
    recording_id = str((await daemon.wait_log(lambda line: line.get("event") == "recording sealed", 30))["recording"])
    listed = ivr(daemon, "recordings", "list", "--json")
    [item] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["id"], item["group"], item["department"], item["consent"]) == \
        (recording_id, "general", "contact_center", "announced")
    out = tmp_path / "general.wav"
    assert ivr(daemon, "recordings", "export", recording_id, "--out", str(out)).returncode == 0
    with wave.open(str(out)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    print(f"recorded {seconds:.2f} s for {TALK} s of talk")
    assert TALK - 0.75 <= seconds <= TALK + 0.75
