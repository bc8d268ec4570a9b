"""Supervisors listen, whisper and barge into an agent's live call, on the real Asterisk with the real
`ivr run` (web desktop on): from the supervisor's phone (*49/*50/*51<extension>) and from the page
(POST /api/v1/supervisor/agents/{agent}/spy).

- A caller waits in a queue (a simulated Local-channel caller entering [ivr-queue] with IVR_QUEUE, as
  the daemon's inbound route leaves it) and is connected to Bilal (logged in with `ivr agents login`;
  his phone is a Local channel into [agent-talking-sim], which sends audio into the call: ChanSpy notices
  the supervisor's hang-up only while audio flows through the spied-on channel).
- The supervisor's phone, for the feature codes, is a real PJSIP call: the sandbox calls itself as
  Lena's phone 1901, authenticating with that phone's password (as test_agents_phone.py does for an
  agent), so the call arrives in [supervisor-phones] as her desk phone's would. For the page, her phone
  is a Local stand-in into [supervisor-sim] (asterisk-config/sandbox/ only; IVR_SUPERVISOR_INTERFACE),
  or, where the test listens to the line, a real SIP call from the sandbox to itself.
- Who hears whom, measured on the line: the caller sends 700 Hz, Bilal 440 Hz, Lena 1000 Hz (RTP from
  her SIP phone); MixMonitor recordings of the caller's and Bilal's phones show 1000 Hz for nobody when
  listening, for Bilal only when whispering, for both when barging.
- Asterisk's own word that it worked: ChanSpyStart with the supervisor's channel as spyer and, as
  spyee, Bilal's channel in the same bridge as the caller (CoreShowChannels' BridgeId); the ChanSpy
  options in the dialplan's Newexten event (whisper `w`: the caller does not hear the supervisor;
  barge `B`: both do).
- Social services forbids listening: refused on the page (403 listening_forbidden) and on the phone (no
  ChanSpy at all), each refusal audited; every spy's audit rows have who, whom, when, mode, and after the
  hang-up, how long (`spy.ended` with seconds, from the spy channel's hangup handler).
- With the dialplan's first daemon down (a dead port first in IVR_AGI_HOSTS), *49 goes on to the next
  daemon, which lets Lena listen and audits it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from harness.agi_hosts import agi_tries
from harness.ami import AmiClient, AmiMessage, SimCall, new_token
from harness.daemon import REPO, DaemonProcess
from harness.desk import set_password
from harness.loop_phone import loop_phone
from harness.ports import SIP_PORT
from harness.sandbox import Sandbox

from ivr.desktop.store import read_audit
from ivr.store.db import open_database
from ivr.testing.mosquitto import free_port

pytestmark = pytest.mark.real_daemon

# Bilal's phone: a stand-in that sends audio once answered (asterisk-config/sandbox/extensions_sandbox.conf).
SIM = "Local/9{extension}@agent-talking-sim/n"
SUPERVISOR_SIM = "Local/{extension}@supervisor-sim/n"
# Whatever a failed test may leave on the line.
LEFTOVERS = ("/^(PJSIP/1901-|PJSIP/loop-1901-|PJSIP/loop-answer-|PJSIP/answer-1901-|Local/1901@supervisor-sim-"
             "|Local/91002@agent-talking-sim-|Local/s@caller-talking-sim-)/")
PASSWORD = "Kaffe och kanelbulle 42"
LENA, BILAL = "lena.strand", "bilal.haddad"
BILAL_LEG = "Local/91002@agent-talking-sim-"


@dataclass
class Desk:
    daemon: DaemonProcess
    base: str

    def audit(self) -> list[tuple[float, str, str, str, dict[str, Any]]]:
        db = open_database(f"sqlite:///{self.daemon.state_dir / 'ivr.db'}")
        try:
            return read_audit(db)
        finally:
            db.close()

    def cli(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "ivr", *args], capture_output=True, text=True,
                              env=self.daemon.environment(), cwd=REPO, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


async def clean_queues(ami: AmiClient, *, pause_static: bool) -> None:
    for row in await ami.action_list("QueueStatus"):
        if row.Event != "QueueMember":
            continue
        location = str(row.Location)
        if location.startswith("Local/9"):
            await ami.action("QueueRemove", Queue=row.Queue, Interface=location, check=False)
        elif location.startswith("Local/"):  # the sandbox's static stand-ins take no calls here
            await ami.action("QueuePause", Queue=row.Queue, Interface=location,
                             Paused="true" if pause_static else "false", Reason="spy_test", check=False)


# Lena's desk phone as the page rings it (IVR_SUPERVISOR_INTERFACE=PJSIP/{extension}@loop-answer): Asterisk
# calls sip:1901@itself from "answer-1901", takes that for the endpoint answer-1901, and runs
# [supervisor-sim] for it (answers, talks at 1000 Hz over RTP).
DESK_PHONE_ANSWERING = f"""
; TEST ONLY: Lena's desk phone as the page rings it
[loop-answer]
type = endpoint
context = supervisor-sim
disallow = all
allow = alaw,ulaw
aors = loop-answer
from_user = answer-1901
[loop-answer]
type = aor
contact = sip:127.0.0.1:{SIP_PORT}
[answer-1901]
type = endpoint
context = supervisor-sim
disallow = all
allow = alaw,ulaw
"""


@pytest.fixture
def lenas_phone(asterisk: Sandbox) -> Iterator[str]:
    """A test endpoint that dials this Asterisk as Lena's phone 1901 would, and one the page rings."""
    with loop_phone(asterisk, "1901", "supervisor-phones", DESK_PHONE_ANSWERING) as endpoint:
        yield endpoint


@pytest.fixture
async def desk(ami: AmiClient, tmp_path: Path) -> AsyncIterator[Desk]:
    """`ivr run` with the web desktop, Lena's web password, Bilal logged in, the stand-ins paused; the
    page rings Lena's Local stand-in phone."""
    async with running_desk(ami, tmp_path, SUPERVISOR_SIM) as running:
        yield running


@pytest.fixture
async def sip_desk(ami: AmiClient, tmp_path: Path, lenas_phone: str) -> AsyncIterator[Desk]:
    """The same, but the page rings Lena's phone over SIP (PJSIP/1901@loop-answer, see lenas_phone)."""
    async with running_desk(ami, tmp_path, "PJSIP/{extension}@loop-answer") as running:
        yield running


@asynccontextmanager
async def running_desk(ami: AmiClient, tmp_path: Path, supervisor_interface: str) -> AsyncIterator[Desk]:
    await clean_queues(ami, pause_static=True)
    port = free_port()
    daemon = DaemonProcess(state_dir=tmp_path / "daemon",
                           env={"IVR_WALLBOARD_PORT": str(port), "IVR_AGENT_INTERFACE": SIM,
                                "IVR_SUPERVISOR_INTERFACE": supervisor_interface})
    daemon.state_dir.mkdir(parents=True)
    set_password(daemon, LENA, PASSWORD)
    await daemon.start()
    running = Desk(daemon, f"http://127.0.0.1:{port}")
    try:
        running.cli("agents", "login", BILAL)
        yield running
    finally:
        await ami.action("Hangup", Channel=LEFTOVERS, check=False)
        await daemon.stop()
        await clean_queues(ami, pause_static=False)


async def talking_caller(ami: AmiClient, queue: str) -> SimCall:
    """Like harness.ami's simulated caller, but into [caller-talking-sim]: the caller sends a 700 Hz tone."""
    token = new_token()
    call = SimCall(ami=ami, token=token, uniqueid=SimCall.uniqueid_for(token), far_uniqueid=f"sim-{token}-2",
                   caller_id="+46701119902", exten="s", context="ivr-queue", since=ami.recorder.mark())
    await ami.action("Originate", Channel="Local/s@caller-talking-sim/n", Context="ivr-queue", Exten="s",
                     Priority="1", CallerID='"Talking Caller" <+46701119902>', Async="true", Timeout="10000",
                     ChannelId=call.uniqueid, OtherChannelId=call.far_uniqueid,
                     Variable=[f"IVR_QUEUE={queue}", "IVR_LANG=sv", "SIM_HOLD=120", "__AGENT_TALK=120"])
    return call


async def connected_call(ami: AmiClient, queue: str, *, talking: bool = False) -> tuple[SimCall, str]:
    """A caller in `queue`, answered by Bilal; returns the call and the bridge they are in."""
    call = await talking_caller(ami, queue) if talking else await ami.originate_caller(
        context="ivr-queue", exten="s", dtmf="", hold=90, caller_id="+46701119901",
        variables={"IVR_QUEUE": queue, "IVR_LANG": "sv", "__AGENT_TALK": "80"})
    connect = await call.wait_event(45, Event="AgentConnect")  # Bilal may still be in wrap-up
    assert connect.MemberName == BILAL and str(connect.DestChannel).startswith(BILAL_LEG)
    agent, caller = str(connect.DestChannel), str(connect.Channel)
    for _ in range(50):  # AgentConnect may come a moment before both channels are in the bridge
        bridges = await channel_bridges(ami)
        if bridges.get(agent) and bridges.get(agent) == bridges.get(caller):
            return call, bridges[agent]  # caller and Bilal, one bridge
        await asyncio.sleep(0.1)
    raise AssertionError(f"caller and agent not in one bridge: {bridges}")


async def channel_bridges(ami: AmiClient) -> dict[str, str]:
    rows = await ami.action_list("CoreShowChannels")
    return {str(r.Channel): str(r.BridgeId or "") for r in rows if r.Event == "CoreShowChannel"}


async def spy_started(ami: AmiClient, since: int, spyer: str) -> AmiMessage:
    return await ami.recorder.wait_for(lambda e: e.Event == "ChanSpyStart" and str(e.SpyerChannel).startswith(spyer),
                                       20, since=since, what=f"ChanSpyStart by {spyer}")


def chanspy_data(ami: AmiClient, since: int, spyer: str) -> str:
    run = ami.recorder.first(lambda e: e.Event == "Newexten" and e.Application == "ChanSpy"
                             and str(e.Channel).startswith(spyer), since)
    assert run is not None
    return str(run.AppData)


async def dial_from_phone(ami: AmiClient, endpoint: str, code: str) -> int:
    """Lena dials `code` from her phone and stays on the line; returns the recorder mark from before."""
    since = ami.recorder.mark()
    await ami.action("Originate", Channel=f"PJSIP/{code}@{endpoint}", Application="Wait", Data="60", Async="true",
                     Timeout="10000")
    return since


async def spy_result(ami: AmiClient, since: int) -> str:
    found = await ami.recorder.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_SPY_RESULT"
                                        and bool(e.Value), 20, since=since, what="the daemon's spy answer")
    return str(found.Value)


async def hang_up_spy(ami: AmiClient, phone_channel: str, since: int) -> AmiMessage:
    """The supervisor puts the phone down: the phone's side of the call ends (a BYE to Asterisk, or the
    stand-in's far half hanging up), and the spy channel's hangup handler reports the spy's end."""
    await ami.action("Hangup", Channel=phone_channel)
    return await ami.recorder.wait_for(lambda e: e.Event == "UserEvent" and e.UserEvent == "IvrSpyDone", 15,
                                       since=since, what="the spy's hangup handler")


async def audit_row(desk: Desk, action: str, count: int = 1, timeout: float = 10) -> list[
        tuple[float, str, str, str, dict[str, Any]]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = [r for r in desk.audit() if r[2] == action]
        if len(rows) >= count or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.2)


# --- from the supervisor's phone ----------------------------------------------------------------------

@pytest.mark.parametrize(("code", "mode", "options"), [("*49", "listen", "bqES"), ("*50", "whisper", "bqESw"),
                                                       ("*51", "barge", "bqESB")])
async def test_feature_code_spies_on_the_agents_call(ami: AmiClient, desk: Desk, lenas_phone: str, code: str,
                                                      mode: str, options: str) -> None:
    call, bridge = await connected_call(ami, "kc-general")
    since = await dial_from_phone(ami, lenas_phone, f"{code}1002")
    start = await spy_started(ami, since, "PJSIP/1901-")
    spyee = str(start.SpyeeChannel)
    assert spyee.startswith(BILAL_LEG) and spyee.endswith(";1")
    assert (await channel_bridges(ami))[spyee] == bridge  # the agent's leg in the caller's bridge
    # The options Asterisk ran: quiet, bridged only, leave with the call; w = whisper to the agent only,
    # B = barge to both; listen has neither.
    assert chanspy_data(ami, since, "PJSIP/1901-") == f"{spyee},{options}"
    assert await spy_result(ami, since) == "ok"
    phone = ami.recorder.first(lambda e: e.Event == "VarSet" and e.Variable == "IVR_SPY_PHONE" and bool(e.Value), since)
    assert phone is not None and phone.Value == "1901"  # the authenticated endpoint, nothing dialled
    await asyncio.sleep(2.2)
    phone_side = ami.recorder.first(lambda e: e.Event == "Newchannel" and str(e.Channel).startswith("PJSIP/loop-1901-"),
                                    since)
    assert phone_side is not None
    done = await hang_up_spy(ami, str(phone_side.Channel), since)
    [started] = await audit_row(desk, "spy.started")
    [ended] = await audit_row(desk, "spy.ended")
    assert started[1:4] == (LENA, "spy.started", BILAL) and ended[1:4] == (LENA, "spy.ended", BILAL)
    assert started[4]["mode"] == mode and started[4]["via"] == "phone"
    assert (started[4]["group"], started[4]["department"], started[4]["queue"]) == ("general", "contact_center",
                                                                                      "kc-general")
    assert ended[4]["spy_id"] == started[4]["spy_id"] == done.SpyId
    assert (done.Supervisor, done.Agent, done.Mode) == (LENA, BILAL, mode)  # for a daemon restarted meanwhile
    assert ended[4]["seconds"] >= 2 and ended[4]["seconds"] == int(str(done.Seconds))
    assert ended[0] >= started[0]
    # The caller's call goes on without the supervisor.
    assert call.first(lambda e: e.Event == "Hangup" and e.Uniqueid == call.uniqueid) is None
    await call.hangup()


async def test_with_the_first_daemon_down_the_next_one_lets_her_listen(
        ami: AmiClient, desk: Desk, lenas_phone: str, first_daemon_down: str) -> None:
    dead, live = first_daemon_down, f"127.0.0.1:{desk.daemon.agi_port}"
    call, bridge = await connected_call(ami, "kc-general")
    since = await dial_from_phone(ami, lenas_phone, "*491002")
    start = await spy_started(ami, since, "PJSIP/1901-")
    assert (await channel_bridges(ami))[str(start.SpyeeChannel)] == bridge
    assert await spy_result(ami, since) == "ok"
    spy_leg = ami.recorder.find(lambda e: str(e.Channel).startswith("PJSIP/1901-"), since)
    assert agi_tries(spy_leg, "spy,listen,1002") == [(f"agi://{dead}/spy,listen,1002", "FAILURE"),
                                                     (f"agi://{live}/spy,listen,1002", "SUCCESS")]
    phone_side = ami.recorder.first(lambda e: e.Event == "Newchannel" and str(e.Channel).startswith("PJSIP/loop-1901-"),
                                    since)
    assert phone_side is not None
    done = await hang_up_spy(ami, str(phone_side.Channel), since)
    [started] = await audit_row(desk, "spy.started")
    assert started[1:4] == (LENA, "spy.started", BILAL) and started[4]["spy_id"] == done.SpyId
    await call.hangup()


async def test_feature_code_refuses_a_forbidden_departments_call(ami: AmiClient, desk: Desk,
                                                                 lenas_phone: str) -> None:
    call, _ = await connected_call(ami, "kc-social")
    since = await dial_from_phone(ami, lenas_phone, "*491002")
    assert await spy_result(ami, since) == "listening_forbidden"
    # Lena hears why ("Avdelningen tillåter inte medlyssning på sina samtal").
    said = ami.recorder.first(lambda e: e.Event == "AGIExecStart" and str(e.Channel).startswith("PJSIP/1901-")
                              and "STREAM FILE" in str(e.Command), since)
    assert said is not None and "ivr/sv/spy-forbidden" in str(said.Command)
    await asyncio.sleep(1)
    assert ami.recorder.first(lambda e: e.Event == "ChanSpyStart", since) is None
    assert ami.recorder.first(lambda e: e.Event == "Newexten" and e.Application == "ChanSpy", since) is None
    [refused] = await audit_row(desk, "spy.refused")
    assert refused[1:4] == (LENA, "spy.refused", BILAL)
    assert refused[4] == {"mode": "listen", "code": "listening_forbidden", "via": "phone"}
    assert await audit_row(desk, "spy.started", timeout=0) == []
    await call.hangup()


async def test_an_agents_phone_cannot_spy(ami: AmiClient, desk: Desk, asterisk: Sandbox) -> None:
    """*49 from an agent's phone goes nowhere: agents' phones are in [agent-phones], which has no spy
    codes, and even sent straight into [supervisor-phones] the daemon knows it is no supervisor's."""
    call, _ = await connected_call(ami, "kc-general")
    since = ami.recorder.mark()
    await ami.action("Originate", Channel="Local/*491002@supervisor-phones/n", Application="Wait", Data="20",
                     Async="true", Timeout="10000")
    assert await spy_result(ami, since) == "unknown_phone"  # a Local channel has no authenticated endpoint
    assert ami.recorder.first(lambda e: e.Event == "ChanSpyStart", since) is None
    [refused] = await audit_row(desk, "spy.refused")
    assert refused[1:4] == ("phone ?", "spy.refused", "extension 1002") and refused[4]["code"] == "unknown_phone"
    await call.hangup()


# --- from the page ------------------------------------------------------------------------------------

async def signed_in(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/api/v1/session", json={"username": LENA, "password": PASSWORD}) as answer:
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["csrf"])


async def post_spy(http: aiohttp.ClientSession, base: str, csrf: str, agent: str, mode: str) -> tuple[int, Any]:
    async with http.post(f"{base}/api/v1/supervisor/agents/{agent}/spy", json={"mode": mode},
                         headers={"X-CSRF-Token": csrf}) as answer:
        return answer.status, await answer.json()


async def next_spy_message(stream: aiohttp.ClientResponse, state: str) -> dict[str, Any]:
    kind = ""
    async with asyncio.timeout(20):
        while True:
            line = (await stream.content.readline()).decode().strip()
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "spy":
                data: dict[str, Any] = json.loads(line[6:])
                if data["state"] == state:
                    return data


async def test_page_spies_in_each_mode_and_refuses_what_it_must(ami: AmiClient, desk: Desk) -> None:
    # unsafe=True: keep the session cookie of a server named by its IP address (127.0.0.1).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await signed_in(http, desk.base)
        # Bilal is logged in but not in a call yet.
        status, body = await post_spy(http, desk.base, csrf, BILAL, "listen")
        assert (status, body["error"]) == (409, "not_in_call")
        status, body = await post_spy(http, desk.base, csrf, "david.lind", "listen")
        assert (status, body["error"]) == (403, "not_your_agent")
        status, body = await post_spy(http, desk.base, csrf, BILAL, "eavesdrop")
        assert (status, body["error"]) == (400, "bad_mode")
        async with http.post(f"{desk.base}/api/v1/supervisor/agents/{BILAL}/spy", json={"mode": "listen"}) as answer:
            assert answer.status == 403  # no CSRF token

        call, bridge = await connected_call(ami, "kc-general")
        async with http.get(f"{desk.base}/api/v1/events") as stream:
            for mode, options in (("listen", "bqES"), ("whisper", "bqESw"), ("barge", "bqESB")):
                since = ami.recorder.mark()
                status, body = await post_spy(http, desk.base, csrf, BILAL, mode)
                assert (status, body["mode"], body["state"], body["group"]) == (202, mode, "ringing", "general")
                start = await spy_started(ami, since, "Local/1901@supervisor-sim-")
                assert (await channel_bridges(ami))[str(start.SpyeeChannel)] == bridge
                assert chanspy_data(ami, since, "Local/1901@supervisor-sim-") == f"{start.SpyeeChannel},{options}"
                active = await next_spy_message(stream, "active")
                assert (active["agent"], active["mode"], active["group"]) == (BILAL, mode, "general")
                await asyncio.sleep(1.1)
                spyer = str(start.SpyerChannel)
                assert spyer.endswith(";1")
                done = await hang_up_spy(ami, spyer[:-1] + "2", since)  # the stand-in phone's own half
                ended = await next_spy_message(stream, "ended")
                assert ended["spy_id"] == active["spy_id"] == done.SpyId and ended["seconds"] >= 1
        await call.hangup()
        await call.wait_hangup(15)

        started = await audit_row(desk, "spy.started", 3)
        ended_rows = await audit_row(desk, "spy.ended", 3)
        assert [(r[1], r[3], r[4]["mode"], r[4]["via"]) for r in started] == [
            (LENA, BILAL, "listen", "page"), (LENA, BILAL, "whisper", "page"), (LENA, BILAL, "barge", "page")]
        assert [r[4]["spy_id"] for r in ended_rows] == [r[4]["spy_id"] for r in started]
        assert all(r[4]["seconds"] >= 1 for r in ended_rows)

        # After the general call's wrap-up (10 s): social services, refused with a clear error, and audited.
        social, _ = await connected_call(ami, "kc-social")
        since = ami.recorder.mark()
        status, body = await post_spy(http, desk.base, csrf, BILAL, "whisper")
        assert (status, body["error"]) == (403, "listening_forbidden")
        assert "Socialtjänsten" in body["message"]
        await asyncio.sleep(1)
        assert ami.recorder.first(lambda e: e.Event in ("ChanSpyStart", "OriginateResponse"), since) is None
        await social.hangup()
        await social.wait_hangup(15)

    refused = await audit_row(desk, "spy.refused", 4)
    assert [(r[1], r[3], r[4]["code"], r[4]["mode"]) for r in refused] == [
        (LENA, BILAL, "not_in_call", "listen"), (LENA, "david.lind", "not_your_agent", "listen"),
        (LENA, BILAL, "bad_mode", "eavesdrop"), (LENA, BILAL, "listening_forbidden", "whisper")]  # in that order
    assert all(r[4]["via"] == "page" for r in refused)


# --- who hears the supervisor: the tones on the line ---------------------------------------------------

def tone_share(path: Path, hz: float) -> float:
    """The share of a recording's power within 15 Hz of `hz`."""
    with wave.open(str(path)) as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
        x = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float64)
    assert len(x) > 8000, f"{path}: less than a second recorded"
    power = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    return float(power[np.abs(freqs - hz) < 15].sum() / (power.sum() + 1e-9))


async def record(ami: AmiClient, root: Path, channels: dict[str, str], seconds: float) -> dict[str, Path]:
    """What each channel (a Local ;2 half: the caller's or the agent's own phone) sends and hears."""
    files = {name: f"/tmp/ivr-spy-{new_token()}-{name}.wav" for name in channels}
    for name, channel in channels.items():
        await ami.action("MixMonitor", Channel=channel, File=files[name])
    await asyncio.sleep(seconds)
    for channel in channels.values():
        await ami.action("StopMixMonitor", Channel=channel)
    await asyncio.sleep(0.5)
    return {name: root / file.lstrip("/") for name, file in files.items()}


async def test_who_hears_the_supervisor_from_the_page(ami: AmiClient, sip_desk: Desk, asterisk: Sandbox) -> None:
    """The caller talks at 700 Hz, Bilal at 440 Hz, Lena at 1000 Hz on her SIP phone that the page rings.
    Listening, nobody hears her; whispering, Bilal hears her and the caller does not; barging, both do."""
    expected = {"listen": (False, False), "whisper": (True, False), "barge": (True, True)}  # (agent, caller)
    found: dict[str, dict[str, dict[int, float]]] = {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await signed_in(http, sip_desk.base)
        call, _ = await connected_call(ami, "kc-general", talking=True)
        connect = call.first(lambda e: e.Event == "AgentConnect")
        assert connect is not None
        agent_phone = str(connect.DestChannel)[:-1] + "2"
        async with http.get(f"{sip_desk.base}/api/v1/events") as stream:
            for mode in expected:
                since = ami.recorder.mark()
                status, _ = await post_spy(http, sip_desk.base, csrf, BILAL, mode)
                assert status == 202
                await spy_started(ami, since, "PJSIP/loop-answer-")
                await next_spy_message(stream, "active")
                heard = await record(ami, asterisk.root, {"caller": call.far_uniqueid, "agent": agent_phone}, 2.5)
                found[mode] = {name: {hz: tone_share(path, hz) for hz in (440, 700, 1000)}
                               for name, path in heard.items()}
                phone = ami.recorder.first(lambda e: e.Event == "Newchannel"
                                           and str(e.Channel).startswith("PJSIP/answer-1901-"), since)
                assert phone is not None
                await hang_up_spy(ami, str(phone.Channel), since)  # Lena puts her phone down
                await next_spy_message(stream, "ended")
        await call.hangup()
    for mode, (agent_hears, caller_hears) in expected.items():
        shares = found[mode]
        # Caller and agent hear each other in every mode ...
        assert shares["caller"][440] > 0.02 and shares["agent"][700] > 0.02, found
        # ... and Lena exactly as the mode says (clearly there, or next to nothing).
        assert (shares["agent"][1000] > 0.02, shares["caller"][1000] > 0.02) == (agent_hears, caller_hears), \
            (mode, found)
        assert all(s[1000] > 0.02 or s[1000] < 0.002 for s in shares.values()), (mode, found)


async def test_who_hears_the_supervisor_dialling_the_codes(ami: AmiClient, desk: Desk, lenas_phone: str,
                                                           asterisk: Sandbox) -> None:
    """As above, for *49/*50/*51 dialled from Lena's phone (the sandbox calling itself as 1901): her side
    of the call runs [supervisor-sim], so she "talks" at 1000 Hz over RTP."""
    expected = {"listen": (False, False), "whisper": (True, False), "barge": (True, True)}  # (agent, caller)
    found: dict[str, dict[str, dict[int, float]]] = {}
    call, _ = await connected_call(ami, "kc-general", talking=True)
    connect = call.first(lambda e: e.Event == "AgentConnect")
    assert connect is not None
    agent_phone = str(connect.DestChannel)[:-1] + "2"
    for mode, code in (("listen", "*49"), ("whisper", "*50"), ("barge", "*51")):
        since = ami.recorder.mark()
        await ami.action("Originate", Channel=f"PJSIP/{code}1002@{lenas_phone}", Context="supervisor-sim",
                         Exten="1901", Priority="1", Async="true", Timeout="10000")
        start = await spy_started(ami, since, "PJSIP/1901-")
        heard = await record(ami, asterisk.root, {"caller": call.far_uniqueid, "agent": agent_phone}, 2.5)
        found[mode] = {name: {hz: tone_share(path, hz) for hz in (440, 700, 1000)} for name, path in heard.items()}
        phone_side = ami.recorder.first(
            lambda e: e.Event == "Newchannel" and str(e.Channel).startswith("PJSIP/loop-1901-"), since)
        assert phone_side is not None and start is not None
        await hang_up_spy(ami, str(phone_side.Channel), since)
    await call.hangup()
    for mode, (agent_hears, caller_hears) in expected.items():
        shares = found[mode]
        assert shares["caller"][440] > 0.02 and shares["agent"][700] > 0.02, found
        assert (shares["agent"][1000] > 0.02, shares["caller"][1000] > 0.02) == (agent_hears, caller_hears), \
            (mode, found)
