"""The browser softphone answers a real queue call: headless Chromium (Debian's, fake microphone)
registers over WebSocket to the real Asterisk as the agent's WebRTC endpoint (web<extension>), the
agent logs in on the real desktop page of the real `ivr run` with the browser as device, a caller
goes through the IVR menu into the queue, the queue rings the browser, the agent answers on the
page, and Asterisk bridges the call with media both ways (DTLS-SRTP, opus):

- Asterisk's RTP counters of the browser's channel (`pjsip show channelstats`) rise in both
  directions, and Asterisk detects speech from the browser's fake microphone (TALK_DETECT);
- the browser counts packets both ways and hears sound (the caller plays music on hold:
  [caller-sim] with SIM_AUDIO=moh);
- hold: Asterisk reports Hold/Unhold for the channel and stops/resumes sending to the browser;
- mute: the browser's microphone track is off, and Asterisk hears silence (ChannelTalkingStop)
  although packets keep coming; unmute brings the speech back;
- the agent hangs up on the page: Asterisk ends the channel and the queue reports AgentComplete;
- after logging out, logging in with the desk phone puts PJSIP/<extension> in the queues.

ICE never uses loopback, so the test makes two hosts of its own (harness.netns): Asterisk, the
daemon and the test's AMI client in one network namespace (10.99.N.1), Chromium in another
(10.99.N.2), N = IVR_SANDBOX_INSTANCE. The page is served over plain http from 10.99.N.1, which
Chromium is told to treat as a secure origin (production serves it over TLS).

The first test's caller is a simulated Local-channel call (harness.ami), so only the browser's leg has
RTP there; the second test's caller is SIPp over real SIP/RTP (tests/integration/sipp/webrtc_caller.xml,
from 127.0.0.2 inside the namespace, known to Asterisk by a test-only endpoint), and there both legs'
counters rise in both directions; then the agent transfers the citizen from the page (the server's
AMI Redirect) to their other group's queue.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import netns
from harness.ami import AmiClient, AmiMessage
from harness.daemon import REPO, DaemonProcess
from harness.desk import Page, set_password, until_members
from harness.ports import INSTANCE
from harness.sandbox import SCRIPT, Sandbox
from harness.webrtc_browser import PipeDevTools, chromium_in, rtp_counts

from ivr.asterisk_gen.pjsip import write_passwords
from ivr.validate import load_config

pytestmark = pytest.mark.real_daemon

AGENT = "david.lind"  # extension 1004, group building
ENDPOINT = "web1004"
PASSWORD = "Kaffe och kanelbulle 42"
WEB_PORT = 8080  # the daemon's web server inside the namespace (nothing else listens there)
HTTP_PORT = 8089 + 100 * INSTANCE  # Asterisk's http.conf port, as scripts/asterisk-sandbox moves it
# Swedish, then the main menu's 3 (building permits), then a case number: queue kc-building.
CASE_KEYS = "w1wwwwww3wwwwwwww12345#"
WEEKDAY_10 = "2026-12-22T10:00"
SIPP_ADDRESS = "127.0.0.2"  # SIPp's own loopback address inside the namespace: Asterisk knows it by it
SIPP_SCENARIO = Path(__file__).resolve().parent / "sipp" / "webrtc_caller.xml"
SIP_PORT = 5060 + 100 * INSTANCE
# TEST ONLY, added to the sandbox's secrets file: the trunk-like endpoint of the SIPp citizen.
SIPP_CITIZEN = f"""
[sipp-citizen]
type = endpoint
context = main-number
disallow = all
allow = alaw
dtmf_mode = rfc4733
direct_media = no
set_var = IVR_TEST_NOW={WEEKDAY_10}
[sipp-citizen]
type = identify
endpoint = sipp-citizen
match = {SIPP_ADDRESS}
"""


def phone(expression: str) -> str:
    """A page expression on the page's own softphone module (the one agent.js imported), `Softphone`."""
    return f"import('/desk/static/softphone.js').then(({{Softphone}}) => {expression})"


@dataclass
class World:
    net: netns.Pair
    ami: AmiClient
    daemon: DaemonProcess
    base: str


def sandbox(action: str, namespace: str = "") -> None:
    env = {**os.environ, "IVR_SANDBOX_NETNS": namespace}
    done = subprocess.run([str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"asterisk-sandbox {action}: {done.stdout}{done.stderr}"


async def pause_stand_ins(ami: AmiClient) -> None:
    """The sandbox's static stand-in agents (Local/NNNN@agent-sim) take no calls here."""
    for row in await ami.action_list("QueueStatus"):
        if row.Event == "QueueMember" and str(row.Location).startswith("Local/"):
            await ami.action("QueuePause", Queue=row.Queue, Interface=row.Location, Paused="true", Reason="webrtc")


@pytest.fixture
async def world(asterisk: Sandbox, tmp_path: Path) -> AsyncIterator[World]:
    """Asterisk restarted inside the test's namespace, with the agents' phone passwords (as
    `ivr asterisk passwords` writes them), and `ivr run` beside it serving the desktop; afterwards
    Asterisk is back on the host's loopback as the other tests expect, and the namespaces are gone."""
    with netns.pair(INSTANCE) as net:
        daemon: DaemonProcess | None = None
        ami: AmiClient | None = None
        try:
            sandbox("stop")
            sandbox("start", net.pbx)
            auth = asterisk.root / "etc" / "asterisk" / "pjsip_agents_auth.conf"
            write_passwords(load_config([str(REPO)]), auth)
            auth.write_text(auth.read_text() + SIPP_CITIZEN)
            assert "successfully" in asterisk.cli("module reload res_pjsip.so")
            with netns.entered(net.pbx):
                ami = await AmiClient.connect()
                await pause_stand_ins(ami)
                daemon = DaemonProcess(state_dir=tmp_path / "daemon", env={
                    "IVR_WALLBOARD_HOST": "0.0.0.0", "IVR_WALLBOARD_PORT": str(WEB_PORT),
                    "IVR_SOFTPHONE_WS_URL": f"ws://{net.pbx_address}:{HTTP_PORT}/ws",
                    "IVR_SOFTPHONE_AUTH_FILE": str(auth)})
                daemon.state_dir.mkdir(parents=True)
                set_password(daemon, AGENT, PASSWORD)
                await daemon.start()
            yield World(net, ami, daemon, f"http://{net.pbx_address}:{WEB_PORT}")
        finally:
            if daemon is not None:
                await daemon.stop()
            if ami is not None:
                await ami.hangup_all_sim_calls()
                await ami.close()
            sandbox("stop", net.pbx)
            sandbox("start")


@pytest.fixture
async def page(world: World, tmp_path: Path) -> AsyncIterator[Page]:
    async with chromium_in(world.net.web, world.base, str(tmp_path / "chromium.log")) as tools:
        yield Page(tools, world.base)  # type: ignore[arg-type]  # the same calls as ivr.wallboard's DevTools


def console(page: Page) -> str:
    tools = page.tools
    return tools.console_tail() if isinstance(tools, PipeDevTools) else ""


async def until(page: Page, expression: str, timeout: float, what: str) -> object:
    """`page.until`, with the page's console lines (the softphone's and JsSIP's) when it fails."""
    try:
        return await page.until(expression, timeout, what)
    except AssertionError as exc:
        status = await page.js(phone("JSON.stringify(Softphone.status())"))
        raise AssertionError(f"{exc}\n--- softphone ---\n{status}\n--- page console ---\n{console(page)}") from None


async def rtp(ami: AmiClient, channel: str) -> tuple[int, int]:
    """(packets received from, packets sent to) the browser, as Asterisk counts them."""
    return rtp_counts(await ami.command("pjsip show channelstats"), channel)


def connect_bridge(ami: AmiClient, since: int, channel: str) -> str:
    """The bridge the agent's channel entered on answering."""
    entered = ami.recorder.first(lambda e: e.Event == "BridgeEnter" and e.Channel == channel, since)
    assert entered is not None, f"{channel} never entered a bridge"
    return str(entered.BridgeUniqueid)


async def browser_stats(page: Page) -> dict[str, float]:
    stats = await page.js(phone("Softphone.stats()"))
    assert stats, "no call in the softphone"
    return dict(stats)


async def wait_event(ami: AmiClient, since: int, what: str, timeout: float = 15, **fields: str) -> AmiMessage:
    """The first AMI event since `since` matching `fields`; on failure, what Asterisk said meanwhile."""
    try:
        return await ami.recorder.wait_for(lambda e: e.matches(fields), timeout, since=since, what=what)
    except AssertionError as exc:
        seen = [f"{e.Event} {e.Channel or ''} {e.Queue or ''} {e.MemberName or ''}".rstrip()
                for e in ami.recorder.find(lambda e: e.Event not in ("VarSet", "Newexten", "RTCPSent",
                                                                       "RTCPReceived"), since)]
        raise AssertionError(f"{exc}\n--- AMI events since ---\n" + "\n".join(seen[-60:])) from None


async def sign_in_with_the_browser_phone(world: World, page: Page) -> None:
    """Sign in, choose the browser as phone, log in to the queues; the page registers the softphone."""
    ami = world.ami
    await page.goto("/desk/login")
    await page.ready("/desk/login")
    await page.sign_in_with_keyboard(AGENT, PASSWORD)
    await page.ready("/desk/")
    await page.js("document.querySelector('input[name=\"device\"][value=\"browser\"]').click()")
    await page.js("document.getElementById('login').click()")
    # The queues ring the browser endpoint, which the page registers once logged in with it: Asterisk's
    # members go from unavailable to free, and the page follows.
    await until(page, phone("Softphone.status().registration === 'registered'"), 20, "the softphone registered")
    rows = await until_members(ami, AGENT, lambda rows: rows and all(
        r.StateInterface == f"PJSIP/{ENDPOINT}" and r.Status == "1" for r in rows.values()), 20,
        "browser endpoint registered and free")
    await until(page, "document.getElementById('state').dataset.state === 'available'", 20, "available")
    assert {r.Location for r in rows.values()} == {f"PJSIP/{ENDPOINT}"}
    contacts = await ami.command(f"pjsip show contacts like {ENDPOINT}")
    # The contact is the browser's host (its namespace's address), reachable (qualified over the socket).
    # (The CLI cuts the contact column at a fixed width: ";transport=ws" may be cut anywhere.)
    assert re.search(rf"{ENDPOINT}/sip:\S+@{re.escape(world.net.web_address)}:\d+\S*\s+\S+\s+Avail",
                     contacts), contacts



async def test_the_browser_answers_a_queue_call_with_media_both_ways_hold_mute_and_hang_up(
        world: World, page: Page) -> None:
    ami = world.ami
    await sign_in_with_the_browser_phone(world, page)

    # A caller through the menu into kc-building; the queue rings the browser.
    call = await ami.originate_caller(dtmf=CASE_KEYS, first_wait=1, hold=120, caller_id="+46701114401",
                                      variables={"IVR_TEST_NOW": WEEKDAY_10, "SIM_AUDIO": "moh"})
    await call.wait_event(90, Event="QueueCallerJoin", Queue="kc-building")
    called = await call.wait_event(30, Event="AgentCalled")
    assert called.MemberName == AGENT and called.Interface == f"PJSIP/{ENDPOINT}"
    await until(page, "!document.getElementById('answer').disabled", 20, "the page rings")
    assert await page.js(phone("Softphone.status().call")) == "ringing"

    await page.js("document.getElementById('answer').click()")
    connect = await call.wait_event(20, Event="AgentConnect")
    assert connect.MemberName == AGENT
    channel = str(connect.DestChannel)
    assert channel.startswith(f"PJSIP/{ENDPOINT}-")
    await until(page, phone("Softphone.status().call === 'active'"), 10, "the call is up in the browser")
    bridge = await wait_event(ami, call.since, "the browser's channel in the bridge", Event="BridgeEnter",
                              Channel=channel)
    callers = ami.recorder.find(lambda e: e.Event == "BridgeEnter" and e.BridgeUniqueid == bridge.BridgeUniqueid
                                and e.Uniqueid == call.uniqueid, call.since)
    assert callers, "the caller is in the same bridge"

    # Media both ways, as Asterisk and the browser count it.
    rx0, tx0 = await rtp(ami, channel)
    seen0 = await browser_stats(page)
    await asyncio.sleep(3)
    rx1, tx1 = await rtp(ami, channel)
    seen1 = await browser_stats(page)
    assert rx1 - rx0 >= 75 and tx1 - tx0 >= 75, (rx0, rx1, tx0, tx1)  # 20 ms packets: about 150 in 3 s
    assert seen1["packetsReceived"] - seen0["packetsReceived"] >= 75
    assert seen1["packetsSent"] - seen0["packetsSent"] >= 75
    assert seen1["audioLevel"] > 0.01, seen1  # the caller's music is heard in the browser
    # Asterisk hears the browser's (fake) microphone: speech detection on the browser's channel.
    talk = ami.recorder.mark()
    await ami.action("Setvar", Channel=channel, Variable="TALK_DETECT(set)", Value="")
    await wait_event(ami, talk, "speech from the browser", Event="ChannelTalkingStart", Channel=channel)

    # Hold: Asterisk is told (Hold) and stops sending to the browser, which keeps sending.
    mark = ami.recorder.mark()
    await page.js("document.getElementById('hold').click()")
    await wait_event(ami, mark, "Hold", Event="Hold", Channel=channel)
    await until(page, phone("Softphone.status().held"), 5, "held in the browser")
    assert await page.js("document.getElementById('hold').getAttribute('aria-pressed')") == "true"
    await asyncio.sleep(1)
    rx0, tx0 = await rtp(ami, channel)
    await asyncio.sleep(2)
    rx1, tx1 = await rtp(ami, channel)
    assert tx1 - tx0 <= 3 and rx1 - rx0 >= 50, (rx0, rx1, tx0, tx1)
    mark = ami.recorder.mark()
    await page.js("document.getElementById('hold').click()")
    await wait_event(ami, mark, "Unhold", Event="Unhold", Channel=channel)
    await until(page, phone("!Softphone.status().held"), 5, "taken off hold in the browser")
    await wait_event(ami, mark, "speech again after hold", Event="ChannelTalkingStart", Channel=channel)
    rx0, tx0 = await rtp(ami, channel)
    await asyncio.sleep(2)
    rx1, tx1 = await rtp(ami, channel)
    assert tx1 - tx0 >= 50 and rx1 - rx0 >= 50, (rx0, rx1, tx0, tx1)

    # Mute: the microphone is off in the browser; Asterisk gets packets, but silence.
    mark = ami.recorder.mark()
    await page.js("document.getElementById('mute').click()")
    await until(page, phone("Softphone.status().muted"), 5, "muted in the browser")
    assert (await browser_stats(page))["microphoneEnabled"] is False
    await wait_event(ami, mark, "silence from the muted browser", Event="ChannelTalkingStop", Channel=channel)
    rx0, _ = await rtp(ami, channel)
    await asyncio.sleep(2)
    rx1, _ = await rtp(ami, channel)
    assert rx1 - rx0 >= 50, (rx0, rx1)
    assert not ami.recorder.find(lambda e: e.Event == "ChannelTalkingStart" and e.Channel == channel, mark)
    mark = ami.recorder.mark()
    await page.js("document.getElementById('mute').click()")
    await until(page, phone("!Softphone.status().muted"), 5, "unmuted in the browser")
    await wait_event(ami, mark, "speech after unmuting", Event="ChannelTalkingStart", Channel=channel)

    # The agent hangs up on the page.
    mark = ami.recorder.mark()
    await page.js("document.getElementById('hangup').click()")
    await wait_event(ami, mark, "the browser's channel hung up", Event="Hangup", Channel=channel)
    complete = await wait_event(ami, call.since, "AgentComplete", 20, Event="AgentComplete", Queue="kc-building")
    assert complete.MemberName == AGENT and complete.Reason == "agent"
    await until(page, phone("Softphone.status().call === 'ended'"), 5, "the call over in the browser")

    # Log out; the next login with the desk phone puts the desk phone in the queues.
    await until(page, "!document.getElementById('logout').disabled", 10, "log-out possible")
    await page.js("document.getElementById('logout').click()")
    await until_members(ami, AGENT, lambda rows: not rows, 20, "logged out")
    await until(page, "!document.getElementById('login').disabled", 10, "log-in possible again")
    await page.js("document.querySelector('input[name=\"device\"][value=\"desk\"]').click()")
    await page.js("document.getElementById('login').click()")
    rows = await until_members(ami, AGENT, lambda rows: rows and all(
        r.Location == "PJSIP/1004" and r.StateInterface == "PJSIP/1004" for r in rows.values()), 20,
        "desk phone again")
    assert sorted(rows) == ["kc-building", "kc-streets"]


async def test_a_sip_citizen_and_the_browser_both_carry_media(world: World, page: Page, tmp_path: Path) -> None:
    """The caller is SIPp over real SIP and RTP (G.711 A-law, keys as RFC 4733 events) through the
    IVR menu: both legs of the bridge have RTP, and Asterisk's counters rise on both, in both
    directions; the browser (opus) hears the caller. Asterisk transcodes between them. Then the
    agent transfers the citizen from the page to their other group's queue."""
    ami = world.ami
    await sign_in_with_the_browser_phone(world, page)
    mark = ami.recorder.mark()
    sipp = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", world.net.pbx, "sipp", f"127.0.0.1:{SIP_PORT}", "-sf", str(SIPP_SCENARIO),
        "-s", "4034100", "-i", SIPP_ADDRESS, "-p", "5099", "-mi", SIPP_ADDRESS, "-mp", "16000", "-m", "1",
        "-timeout", "150s", "-nostdin", "-trace_err", "-error_file", str(tmp_path / "sipp-errors.log"),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        join = await wait_event(ami, mark, "the SIP citizen in kc-building", 90, Event="QueueCallerJoin",
                                Queue="kc-building", Channel="~PJSIP/sipp-citizen-.*")
        caller = str(join.Channel)
        await until(page, "!document.getElementById('answer').disabled", 30, "the page rings")
        await page.js("document.getElementById('answer').click()")
        connect = await wait_event(ami, mark, "the browser answering", 20, Event="AgentConnect", Channel=caller)
        assert connect.MemberName == AGENT
        browser = str(connect.DestChannel)
        await until(page, phone("Softphone.status().call === 'active'"), 10, "the call is up in the browser")
        # The keys went through the IVR: the screen pop has the case number.
        case = await until(page, "document.querySelector('#pop [data-field=\"digit-case_number\"]')?.textContent",
                           20, "the screen pop's case number")
        assert case == "45678"
        legs = [await rtp(ami, caller), await rtp(ami, browser)]
        heard0 = await browser_stats(page)
        await asyncio.sleep(3)
        later = [await rtp(ami, caller), await rtp(ami, browser)]
        heard1 = await browser_stats(page)
        for (rx0, tx0), (rx1, tx1), leg in zip(legs, later, ("caller", "browser"), strict=True):
            assert rx1 - rx0 >= 75 and tx1 - tx0 >= 75, (leg, rx0, rx1, tx0, tx1)
        assert heard1["packetsReceived"] - heard0["packetsReceived"] >= 75
        assert heard1["audioLevel"] > 0.01, heard1  # the citizen's recorded voice, transcoded to opus

        # Transfer from the page to the agent's other group (the server's AMI Redirect of the citizen's
        # channel): the browser's leg ends and the citizen queues in kc-streets.
        await until(page, "!document.getElementById('transfer-submit').disabled", 20, "transfer possible")
        # Every group but the call's own is offered (building); choose the agent's other one.
        group = await page.js("(() => { const s = document.getElementById('transfer-group');"
                              " s.value = 'streets'; return s.value; })()")
        assert group == "streets"
        moved = ami.recorder.mark()
        await page.js("document.getElementById('transfer-submit').click()")
        left = await wait_event(ami, moved, "the citizen out of the bridge", 15, Event="BridgeLeave", Channel=caller)
        await wait_event(ami, moved, "the citizen in kc-streets", 30, Event="QueueCallerJoin", Channel=caller,
                         Queue="kc-streets")
        await wait_event(ami, moved, "the browser's leg ended by the transfer", 15, Event="Hangup", Channel=browser)
        assert left.BridgeUniqueid == connect_bridge(ami, mark, browser)
        await ami.action("Hangup", Channel=caller, check=False)
        assert await asyncio.wait_for(sipp.wait(), 30) == 0, (await sipp.stderr.read()).decode()  # type: ignore[union-attr]
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
