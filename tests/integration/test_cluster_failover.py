"""The cluster of docs/cluster.md (harness/cluster.py, cluster_edge.py, cluster_drill.py): a pair of
Kamailios sharing the service address through keepalived, in front of two Asterisk nodes (sandbox
instances 7 and 8 in network namespaces), two daemons on one PostgreSQL schema and the shared broker.
All seven tests share one cluster (starting it takes 35-45 s here; the module about 5 minutes):

1. Steady SIP traffic, SIPp citizens calling through Kamailio into the main menu and kc-streets; a
   daemon and then an Asterisk node are SIGKILLed and restarted.
2. An agent's phone registers at Kamailio once; a citizen's call through the edge rings it from the
   node that took the call; that node is SIGKILLed; the next call lands on the other node and rings
   the same registration.
3. The agent's browser softphone (the real desktop page in headless Chromium, JsSIP) registers over
   Kamailio's WebSocket at the service address; the agent logs in with it; a citizen's call rings it
   from the node that took the call and it answers (media both ways, straight to the node); that node
   is SIGKILLed; the next call, on the other node, rings the same registration. Then the edge holding
   the browser's socket is lost: the browser registers at the other edge, which rings it.
4. A queued callback booked in the shared store: a daemon places its stand-in in its node's queue, the
   queue rings the agent's phone registered at Kamailio, and once the phone has answered, the node
   calls the citizen through the operator's trunk (a SIPp operator on each node's trunk) showing the
   city's main number.
5. A stranger's INVITE (not from the operator's addresses, no phone, no node) gets 403; the
   operator's goes through.
6. The edge holding the service address is lost as a machine under steady calls; the other edge takes
   the address, the calls and the phone's registration; the lost edge rejoins without taking it back.
7. Kamailio alone dies (SIGKILL) on the edge holding the address, under a short burst of calls, its
   host and keepalived up: keepalived's check gives the address up, the other edge takes it and the
   calls; restarted, the Kamailio gets the phone back (DMQ) and the address stays. Then the new
   holder's Kamailio hangs (SIGSTOP): the address moves back.

It needs neither the session's sandbox (instance N) nor anything of another run: the module turns
the directory's autouse sandbox fixture off. A second run beside another one: IVR_CLUSTER_PREFIX,
IVR_CLUSTER_SUBNET and IVR_CLUSTER_INSTANCES (harness/cluster.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from harness.cluster import BROWSER_ADDRESS, CALLBACK_KEY, CALLER_ADDRESS, HOST_ADDRESS, PREFIX, ClusterRun, Node
from harness.cluster_calls import CallRecord, Traffic
from harness.cluster_drill import drill
from harness.cluster_edge import invite_answer, options_answer
from harness.desk import Page
from harness.sandbox import Sandbox
from harness.sipp import OperatorUas, SipMessage, agent_passwords, agent_phone, operator_uas
from harness.trunk import operator_trunk
from harness.webrtc_browser import chromium_in, rtp_counts
from test_agent_phones_sip import user_of
from test_cluster_callbacks import book

from ivr.callbacks import store
from ivr.store.db import open_database
from ivr.testing.postgres import pg_schema
from ivr.validate import load_config

pytestmark = pytest.mark.real_daemon(started_by="harness/cluster.py: each node's `ivr run` in its own namespace")


@pytest.fixture
def _asterisk_running() -> None:
    """Overrides conftest's: the cluster starts its own two Asterisk nodes."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterRun]:
    with pg_schema() as db_url:
        run = ClusterRun(tmp_path_factory.mktemp("cluster"), db_url=db_url)
        try:
            run.start()
            yield run
        finally:
            run.stop()


@pytest.mark.timeout(300)
def test_calls_keep_flowing_when_a_daemon_and_an_asterisk_node_die(cluster: ClusterRun, tmp_path: Path) -> None:
    figures = drill(cluster, tmp_path)
    print(json.dumps(figures.as_dict(), indent=2))  # the figures of docs/reliability.md, for the record
    # A daemon killed: its share of new calls went to the other daemon, none heard the apology.
    assert figures.daemon_new_calls > 0
    assert figures.daemon_new_calls_retried > 0, "no new call met the dead daemon: the failover path was not tried"
    assert figures.daemon_new_calls_fallback == 0
    assert figures.daemon_rejoined_calls > 0, "the restarted daemon took no call"
    # An Asterisk node killed: out within the probing window (1 s interval, 2 lost probes, plus one
    # probe's timeout), no new call failed, neither before the detection (failure_route) nor after.
    assert figures.failover_s < 4.0
    assert figures.new_calls_before_detection_failed == 0
    assert figures.calls_moved_failed == 0
    assert figures.new_calls_after_detection > 0
    assert figures.new_calls_after_detection_failed == 0
    # Rejoin: back in the list and answering new calls, with nothing else restarted.
    assert figures.rejoin_s < 5.0
    assert figures.node_calls_after_rejoin > 0
    # Calls in progress on the killed node are lost (their media went to it): counted, not hidden.
    assert figures.failed_calls == figures.node_calls_in_progress


# --- agents' phones at the edge ----------------------------------------------------------------------

AGENT, EXTENSION = "david.lind", "1004"  # groups building and streets: kc-streets rings him
MEMBER = f"PJSIP/{EXTENSION}"
STAND_INS = ("Local/5001@agent-sim/n", "Local/5002@agent-sim/n")  # the sandbox's static kc-streets members


def pause_stand_ins(nodes: list[Node], paused: bool) -> None:
    """The sandbox's static kc-streets members paused (only the real agent answers) or back."""
    for node in nodes:
        for stand_in in STAND_INS:
            action = "pause" if paused else "unpause"
            reason = " reason cluster-test" if paused else ""
            node.sandbox("cli", f"queue {action} member {stand_in} queue kc-streets{reason}")


def member_line(node: Node, member: str = MEMBER) -> str:
    """The agent's line in the node's `queue show kc-streets` ("" when not a member)."""
    text = node.sandbox("cli", "queue show kc-streets").stdout
    return next((line for line in text.splitlines() if member in line), "")  # PJSIP/1004 is not in PJSIP/web1004


async def on_every_node(nodes: list[Node], wanted: Callable[[str], bool], what: str, timeout: float = 15,
                        member: str = MEMBER) -> float:
    """Seconds until every node's member line (of `member`) satisfies `wanted`."""
    started = time.monotonic()
    while True:
        lines = {node.name: await asyncio.to_thread(member_line, node, member) for node in nodes}
        if all(wanted(line) for line in lines.values()):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not on every node within {timeout} s: {lines}")
        await asyncio.sleep(0.3)


def one_call(run: ClusterRun, work: Path, hold: float, echo: bool = False) -> CallRecord:
    """A citizen through Kamailio into kc-streets (keys 2, 4); the call's record once it has ended.
    `echo`: the citizen sends back the RTP it gets (Traffic.echo)."""
    assert run.network is not None
    edge = f"{run.network.cluster.edge.address}:{run.network.cluster.edge.port}"
    traffic = Traffic(work, f"{PREFIX}-call", CALLER_ADDRESS, edge, rate=1.0, total=1, hold=hold, echo=echo)
    traffic.start()
    traffic.wait(timeout=hold + 60)
    calls = traffic.calls()
    assert len(calls) == 1, calls
    return calls[0]


def via_hosts(message: SipMessage) -> list[str]:
    return [via.split()[1].split(";")[0].split(":")[0] for value in message.headers.get_all("Via")
            for via in value.split(",")]


@pytest.mark.timeout(300)
async def test_a_phone_registered_at_the_edge_is_rung_from_whichever_node_takes_the_call(
        cluster: ClusterRun, tmp_path: Path) -> None:
    assert cluster.edge is not None and cluster.network is not None and cluster.passwords is not None
    edge = cluster.network.cluster.edge
    nodes = list(cluster.nodes.values())
    password = agent_passwords(cluster.passwords.parent)[EXTENSION]
    pause_stand_ins(nodes, True)  # only the real agent answers kc-streets here
    figures: dict[str, float | str] = {}
    started = time.monotonic()
    async with agent_phone(EXTENSION, password, answer_after=0.5, talk=3.0, stay=250, workdir=tmp_path / "phone",
                           host=HOST_ADDRESS, registrar=f"{edge.address}:{edge.port}") as phone:
        figures["registered_s"] = round(time.monotonic() - started, 2)
        # The phone's codes go through the edge to a live node, which knows the phone as endpoint 1004
        # (the edge authenticated it); the daemon that acts publishes the session, and the other
        # daemon applies it to its own node: the agent is a member, paused and unpaused, on both.
        await phone.dial("*45")
        figures["login_on_every_node_s"] = round(await on_every_node(nodes, bool, "the login"), 2)
        await phone.dial("*47")
        await on_every_node(nodes, lambda line: "paused" in line, "the pause")
        await phone.dial("*48")
        await on_every_node(nodes, lambda line: bool(line) and "paused" not in line, "the unpause")

        first = await asyncio.to_thread(one_call, cluster, tmp_path / "call-1", 25.0)
        assert first.final_status == 200 and not first.failed, first
        taker = next(node for node in nodes if node.address == first.node)
        other = next(node for node in nodes if node is not taker)
        rung = await phone.rung(timeout=10, count=1)
        assert edge.address in (rung.header("Record-Route") or "")
        assert taker.address in via_hosts(rung), via_hosts(rung)  # sent by the node that took the call

        taker.kill()
        killed_at = time.time()
        figures["failover_s"] = round(cluster.wait_states({taker.address: "I"}, timeout=15), 2)
        second = await asyncio.to_thread(one_call, cluster, tmp_path / "call-2", 25.0)
        assert second.final_status == 200 and not second.failed, second
        assert second.node == other.address
        rung_again = await phone.rung(timeout=10, count=2)
        assert other.address in via_hosts(rung_again), via_hosts(rung_again)
        figures["second_call_invited_after_kill_s"] = round(second.invited_at - killed_at, 2)
        # The same registration served both: the phone sent its REGISTER (and the authenticated
        # retry) once, before the first call.
        registers = [m for m in phone.messages() if m.method == "REGISTER" and m.direction == "sent"]
        assert len(registers) == 2, [m.start_line for m in registers]
        answered = {m.header("Call-ID") for m in phone.messages() if m.direction == "sent" and m.status == 200
                    and m.cseq_method == "INVITE"}
        assert answered == {rung.header("Call-ID"), rung_again.header("Call-ID")}
        # The phone's hang-ups went back through the edge to the node (each BYE answered 200).
        byes = [m for m in phone.messages() if m.direction == "received" and m.cseq_method == "BYE" and m.status]
        assert [m.status for m in byes] == [200, 200], [m.start_line for m in byes]

        # The taker comes back empty (the sandbox starts without an astdb, like a replaced host): its
        # daemon logs the agent in on it again once its AMI is back (the sessions are replayed).
        restarted = time.monotonic()
        await asyncio.to_thread(taker.sandbox, "start")
        cluster.wait_states({taker.address: "A"}, timeout=15)
        await on_every_node([taker], bool, "the agent on the restarted node", timeout=60)
        figures["member_back_on_restarted_node_s"] = round(time.monotonic() - restarted, 2)
        # The first daemon (the feature codes' first choice) SIGKILLed: *46 goes to the next one, which
        # logs the agent out of its own node; the first daemon, started again, finds the session on the
        # broker and logs the agent out of its node too.
        first_daemon = cluster.daemons["ivr-1"]
        first_daemon.kill()
        await phone.dial("*46")
        own = next(node for node in nodes if node is not first_daemon.node)
        await on_every_node([own], lambda line: not line, "the logout through the second daemon")
        assert member_line(first_daemon.node), "nobody should have logged the agent out of ivr-1's node yet"
        restarted = time.monotonic()
        await asyncio.to_thread(first_daemon.start)
        await on_every_node(nodes, lambda line: not line, "the logout on every node")
        figures["daemon_restarted_logout_applied_s"] = round(time.monotonic() - restarted, 2)
    pause_stand_ins(nodes, False)
    figures["first_node"], figures["second_node"] = taker.name, other.name
    print("\n" + json.dumps(figures))  # docs/cluster.md's figures, for the record


# --- the agent's browser softphone at the edge's WebSocket -------------------------------------------

WEB_ENDPOINT = f"web{EXTENSION}"
WEB_MEMBER = f"PJSIP/{WEB_ENDPOINT}"
DESK_PASSWORD = "Kaffe och kanelbulle 42"  # the agent's web desktop password (not a SIP one)


def set_desk_password(run: ClusterRun) -> None:
    """`ivr agents password` on the cluster's shared database (every daemon's desktop knows it)."""
    assert run.config is not None
    done = subprocess.run([sys.executable, "-m", "ivr", "agents", "password", AGENT, "--stdin"], cwd=run.config,
                          input=DESK_PASSWORD + "\n", capture_output=True, text=True, timeout=60,
                          env={**os.environ, "IVR_DB_URL": run.db_url}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def softphone(expression: str) -> str:
    """A page expression on the page's own softphone module (the one agent.js imported), `Softphone`."""
    return f"import('/desk/static/softphone.js').then(({{Softphone}}) => {expression})"


def browser_channel(nodes: list[Node]) -> tuple[Node, str] | None:
    """The node that has a channel to the browser's endpoint, and the channel's name."""
    for node in nodes:
        text = node.sandbox("cli", "core show channels concise").stdout
        for line in text.splitlines():
            if line.startswith(f"{WEB_MEMBER}-"):
                return node, line.split("!", 1)[0]
    return None


async def answered_in_the_browser(run: ClusterRun, page: Page, nodes: list[Node], work: Path,
                                  figures: dict[str, object], label: str) -> tuple[Node, CallRecord]:
    """A citizen through the edge into kc-streets; the browser rings, answers, talks 3 s (media counted
    by the node and by the browser) and hangs up. The node that rang it, and the call's record."""
    started = time.monotonic()
    call = asyncio.create_task(asyncio.to_thread(one_call, run, work, 30.0, True))
    try:
        await page.until("!document.getElementById('answer').disabled", 40, f"the page rings ({label})")
        figures[f"{label}_placed_to_ringing_s"] = round(time.monotonic() - started, 2)
        assert await page.js(softphone("Softphone.status().call")) == "ringing"
        await page.js("document.getElementById('answer').click()")
        await page.until(softphone("Softphone.status().call === 'active'"), 10, f"the call is up ({label})")
        found = await asyncio.to_thread(browser_channel, nodes)
        assert found is not None, "no node has a channel to the browser"
        node, channel = found
        # Media both ways, straight between the browser and the node (ICE): Asterisk's counters of the
        # browser's channel and the browser's own; the citizen echoes what it hears, so the browser
        # also receives.
        before = rtp_counts((await asyncio.to_thread(node.sandbox, "cli", "pjsip show channelstats")).stdout, channel)
        seen = dict(await page.js(softphone("Softphone.stats()")))
        await asyncio.sleep(3)
        after = rtp_counts((await asyncio.to_thread(node.sandbox, "cli", "pjsip show channelstats")).stdout, channel)
        seen_after = dict(await page.js(softphone("Softphone.stats()")))
        media = {"node_received": after[0] - before[0], "node_sent": after[1] - before[1],
                 "browser_received": seen_after["packetsReceived"] - seen["packetsReceived"],
                 "browser_sent": seen_after["packetsSent"] - seen["packetsSent"]}
        figures[f"{label}_packets_in_3s"] = media
        assert all(count >= 75 for count in media.values()), media  # 20 ms packets: about 150 in 3 s
        await page.js("document.getElementById('hangup').click()")
        await page.until(softphone("Softphone.status().call !== 'active'"), 10, f"hung up ({label})")
        record = await call
    finally:
        if not call.done():
            await asyncio.wait([call], timeout=90)
    assert record.final_status == 200 and not record.failed, record
    assert record.node == node.address, (record, node.name)  # the node that took the call rang the browser
    return node, record


@pytest.mark.timeout(300)
async def test_a_browser_registered_at_the_edges_websocket_is_rung_from_whichever_node_takes_the_call(
        cluster: ClusterRun, tmp_path: Path) -> None:
    """The agent's browser softphone (the real desktop page in headless Chromium, JsSIP) registers over
    WebSocket at the service address, where Kamailio challenges it like a desk phone; the agent logs in
    to the queues with the browser; a citizen's call on one node rings it through Kamailio and the
    browser answers with media both ways; that node is SIGKILLed and the next citizen, on the other
    node, rings the same registration: the browser did not register again. Last, the edge holding the
    address and the browser's socket is lost as a machine: the page's keepalive meets a reset, the
    browser registers at the other edge, and the next call rings it there."""
    assert cluster.edge is not None and cluster.network is not None and cluster.passwords is not None
    edge = cluster.network.cluster.edge
    nodes = list(cluster.nodes.values())
    holder = cluster.wait_holder(timeout=10)
    desk = cluster.daemons["ivr-1"]
    set_desk_password(cluster)
    pause_stand_ins(nodes, True)  # only the real agent answers kc-streets here
    figures: dict[str, object] = {"edge": holder.name or "edge"}
    try:
        async with chromium_in(f"{PREFIX}-web", desk.desktop, str(tmp_path / "chromium.log")) as tools:
            page = Page(tools, desk.desktop)  # type: ignore[arg-type]  # the same calls as ivr.wallboard's DevTools
            await page.goto("/desk/login")
            await page.ready("/desk/login")
            await page.sign_in_with_keyboard(AGENT, DESK_PASSWORD)
            await page.ready("/desk/")
            # In a cluster the desktop (plain http here) names the edge's WebSocket, not a node's.
            config = await page.js("fetch('/api/v1/agent/softphone').then((r) => r.json())")
            assert config["ws_url"] == f"ws://{edge.address}:{edge.ws_port}", config
            await page.js("document.querySelector('input[name=\"device\"][value=\"browser\"]').click()")
            started = time.monotonic()
            await page.js("document.getElementById('login').click()")
            await page.until(softphone("Softphone.status().registration === 'registered'"), 20,
                             "the softphone registered at the edge")
            figures["login_to_registered_s"] = round(time.monotonic() - started, 2)
            registration = holder.contact(WEB_ENDPOINT)
            # Stored with the socket it came in on (the edge's WebSocket) and where it really is.
            figures["registration"] = {key: registration.get(key) for key in ("Socket", "Received")}
            assert registration.get("Socket") == f"tcp:{edge.address}:{edge.ws_port}", registration
            assert registration.get("Received", "").startswith(f"sip:{BROWSER_ADDRESS}:"), registration
            assert "transport=ws" in registration["Received"], registration
            figures["login_on_every_node_s"] = round(await on_every_node(
                nodes, bool, "the browser's login", member=WEB_MEMBER), 2)

            taker, _ = await answered_in_the_browser(cluster, page, nodes, tmp_path / "call-1", figures, "first")
            other = next(node for node in nodes if node is not taker)

            taker.kill()
            killed_at = time.time()
            figures["failover_s"] = round(cluster.wait_states({taker.address: "I"}, timeout=15), 2)
            second_node, second = await answered_in_the_browser(cluster, page, [other], tmp_path / "call-2",
                                                                figures, "second")
            assert second_node is other
            figures["second_call_invited_after_kill_s"] = round(second.invited_at - killed_at, 2)
            # The same registration served both calls: no REGISTER since the first (same Call-ID and
            # CSeq at the edge), and the page never left "registered".
            again = holder.contact(WEB_ENDPOINT)
            assert (again.get("Call-ID"), again.get("CSeq")) == (registration.get("Call-ID"),
                                                                 registration.get("CSeq")), (registration, again)
            assert await page.js(softphone("Softphone.status().registration")) == "registered"

            # The killed node back (empty): its daemon replays the session, the browser is its member again.
            restarted = time.monotonic()
            await asyncio.to_thread(taker.sandbox, "start")
            cluster.wait_states({taker.address: "A"}, timeout=15)
            await on_every_node([taker], bool, "the browser on the restarted node", timeout=60, member=WEB_MEMBER)
            figures["member_back_on_restarted_node_s"] = round(time.monotonic() - restarted, 2)
            pause_stand_ins([taker], True)  # it came back with the sandbox's stand-ins unpaused

            # The edge holding the browser's socket lost as a machine: the other edge takes the address
            # and has the registration (DMQ) but no socket to the browser. The page's keepalive
            # (keepalive_s) meets a TCP reset there; JsSIP connects again and registers at that edge.
            standby = next(e for e in cluster.edges.values() if e is not holder)
            assert config["keepalive_s"] > 0, config
            lost = time.monotonic()
            await asyncio.to_thread(holder.lose)
            await asyncio.to_thread(cluster.wait_holder, 15, holder)
            figures["edge_lost_to_address_moved_s"] = round(time.monotonic() - lost, 2)
            while int(standby.contact(WEB_ENDPOINT).get("CSeq", "0")) <= int(registration["CSeq"]):
                assert time.monotonic() - lost < 3 * config["keepalive_s"] + 20, \
                    f"the browser did not register at {standby.name}: {standby.contact(WEB_ENDPOINT)}"
                await asyncio.sleep(0.2)
            figures["edge_lost_to_registered_at_other_edge_s"] = round(time.monotonic() - lost, 2)
            moved = standby.contact(WEB_ENDPOINT)
            assert moved.get("Socket") == f"tcp:{edge.address}:{edge.ws_port}", moved
            await page.until(softphone("Softphone.status().registration === 'registered'"), 10, "registered again")
            await answered_in_the_browser(cluster, page, nodes, tmp_path / "call-3", figures, "third")
            # The lost edge back as a rebooted machine: a standby (nopreempt), the browser stays where it is.
            await asyncio.to_thread(holder.rejoin)
            cluster.wait_states({n.address: "A" for n in nodes}, timeout=15, edge=holder)
            assert standby.holds_address() and not holder.holds_address()
            await page.until("!document.getElementById('logout').disabled", 10, "log-out possible")
            await page.js("document.getElementById('logout').click()")
            await on_every_node(nodes, lambda line: not line, "the logout", member=WEB_MEMBER)
    finally:
        pause_stand_ins(nodes, False)
    figures["first_node"], figures["second_node"] = taker.name, other.name
    print("\n" + json.dumps(figures))  # docs/cluster.md's figures, for the record


# --- a queued callback through the edge and the trunk ------------------------------------------------

CITIZEN = "+46701117401"


@contextlib.asynccontextmanager
async def operators(cluster: ClusterRun, work: Path) -> AsyncIterator[dict[str, OperatorUas]]:
    """A SIPp operator on each node's loopback (in its namespace), and each node's trunk pointed at it
    (harness/trunk.py, with the node's ports): node address → its operator."""
    async with contextlib.AsyncExitStack() as stack:
        found: dict[str, OperatorUas] = {}
        for node in cluster.nodes.values():
            sip_port = 5060 + 100 * node.instance
            found[node.address] = await stack.enter_async_context(operator_uas(
                ring=0.2, port=sip_port + 20, netns=node.namespace, workdir=work / f"operator-{node.name}"))
            stack.enter_context(operator_trunk(Sandbox(env=node.env()), port=sip_port + 20, sip_port=sip_port))
        yield found


@pytest.mark.timeout(180)
async def test_a_queued_callback_rings_the_phone_at_the_edge_then_the_citizen_through_the_trunk(
        cluster: ClusterRun, tmp_path: Path) -> None:
    assert cluster.edge is not None and cluster.network is not None and cluster.passwords is not None
    assert cluster.config is not None
    edge = cluster.network.cluster.edge
    nodes = list(cluster.nodes.values())
    main = load_config([cluster.config]).rules.main_number  # what the citizen's phone shows
    password = agent_passwords(cluster.passwords.parent)[EXTENSION]
    pause_stand_ins(nodes, True)
    figures: dict[str, float | str] = {}
    try:
        async with operators(cluster, tmp_path) as by_node, \
                agent_phone(EXTENSION, password, answer_after=0.5, talk=3.0, stay=120, workdir=tmp_path / "phone",
                            host=HOST_ADDRESS, registrar=f"{edge.address}:{edge.port}") as phone:
            await phone.dial("*45")
            await on_every_node(nodes, bool, "the login")
            started = time.monotonic()
            [callback_id] = book(cluster.db_url, (CITIZEN,), queue="kc-streets", group="streets", key=CALLBACK_KEY)
            rung = await phone.rung(timeout=30, count=1)
            figures["booked_to_phone_rung_s"] = round(time.monotonic() - started, 2)
            node = next(n for n in nodes if n.address in via_hosts(rung))  # the node whose queue held the stand-in
            assert edge.address in (rung.header("Record-Route") or "")  # through Kamailio
            out = await by_node[node.address].wait_invite(30)
            figures["booked_to_citizen_invited_s"] = round(time.monotonic() - started, 2)
            # On the wire to the operator: the citizen's number dialled, the city's main number shown.
            assert user_of(out.uri) == CITIZEN
            assert user_of(out.headers.get("From")) == main
            assert user_of(out.headers.get("P-Asserted-Identity")) == main
            # The agent first, then the citizen: the phone had answered before the operator's INVITE.
            answered = next(m for m in phone.messages() if m.direction == "sent" and m.status == 200
                            and m.cseq_method == "INVITE" and m.header("Call-ID") == rung.header("Call-ID"))
            assert answered.logged_at < out.logged_at
            others = [op for address, op in by_node.items() if address != node.address]
            assert all(op.invites() == [] for op in others)  # the citizen called once, from that node
            db = open_database(cluster.db_url, migrate=False)
            try:
                deadline = time.monotonic() + 30
                while (row := store.get(db, callback_id)) is None or row.state != "done":
                    assert time.monotonic() < deadline, f"callback {callback_id} not done: {row}"
                    await asyncio.sleep(0.3)
                figures["booked_to_done_s"] = round(time.monotonic() - started, 2)
            finally:
                db.close()
            await phone.dial("*46")
            await on_every_node(nodes, lambda line: not line, "the logout")
        figures["node"] = node.name
    finally:
        pause_stand_ins(nodes, False)
    print("\n" + json.dumps(figures))  # docs/cluster.md's figures, for the record


# --- the edge pair ---------------------------------------------------------------------------------

def service_answers_from(source: str, address: str, port: int, edge_name: str, timeout: float) -> float:
    """Seconds until an OPTIONS to the service address is answered by edge `edge_name` (Server header)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        server = options_answer(source, address, port, timeout=0.1)
        if server is not None and server.endswith(f" {edge_name}"):
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"the service address was not answered by {edge_name} within {timeout} s")


@pytest.mark.timeout(120)
def test_an_invite_from_a_stranger_is_refused_and_the_operators_goes_through(cluster: ClusterRun,
                                                                             tmp_path: Path) -> None:
    """Only the operator's addresses (cluster.edge.trunk_from: the callers' namespace here) may send the
    edge calls that are no authenticated phone's and no node's: this machine's own address may not."""
    assert cluster.network is not None and cluster.edge is not None
    edge = cluster.network.cluster.edge
    operator = [ipaddress.ip_network(source) for source in edge.trunk_from]
    assert any(ipaddress.ip_address(CALLER_ADDRESS) in net for net in operator)
    assert not any(ipaddress.ip_address(HOST_ADDRESS) in net for net in operator)
    assert invite_answer(HOST_ADDRESS, edge.address, edge.port, "4034100") == 403
    log = (cluster.edge.folder / "kamailio.log").read_text(encoding="utf-8", errors="replace")
    assert f"INVITE from {HOST_ADDRESS}:" in log and "not an address of the operator's: refused" in log
    call = one_call(cluster, tmp_path / "trunk-call", 3.0)
    assert call.final_status == 200 and not call.failed, call


@pytest.mark.timeout(300)
async def test_the_edge_pair_survives_the_loss_of_the_edge_holding_the_address(cluster: ClusterRun,
                                                                                tmp_path: Path) -> None:
    """Steady calls through the service address; the edge holding it is lost as a whole machine
    (network down, Kamailio and keepalived SIGKILLed). keepalived moves the address to the other edge,
    which already knows the nodes' state (it probed them from its own address) and the agent's phone
    (DMQ replicated its registration); the lost edge comes back and the address stays (nopreempt)."""
    assert cluster.network is not None and cluster.passwords is not None
    spec = cluster.network.cluster.edge
    assert len(cluster.edges) == 2, "the example's cluster has an edge pair"
    holder = cluster.wait_holder(timeout=10)
    standby = next(e for e in cluster.edges.values() if e is not holder)
    assert standby.name is not None and holder.name is not None
    nodes = list(cluster.nodes.values())
    all_active = {n.address: "A" for n in nodes}
    cluster.wait_states(all_active, timeout=10, edge=standby)  # the standby probes too
    figures: dict[str, object] = {"holder": holder.name, "standby": standby.name}
    password = agent_passwords(cluster.passwords.parent)[EXTENSION]
    async with agent_phone(EXTENSION, password, answer_after=0.5, talk=3.0, stay=250, workdir=tmp_path / "phone",
                           host=HOST_ADDRESS, registrar=f"{spec.address}:{spec.port}") as phone:
        started = time.monotonic()
        while f"{EXTENSION}" not in " ".join(standby.registered()):
            assert time.monotonic() - started < 10, f"DMQ did not bring the phone to {standby.name}"
            await asyncio.sleep(0.1)
        figures["registration_replicated_s"] = round(time.monotonic() - started, 2)

        rate, warmup, after, hold = 2.0, 6.0, 14.0, 8.0
        traffic = Traffic(tmp_path / "sipp", f"{PREFIX}-call", CALLER_ADDRESS, f"{spec.address}:{spec.port}",
                          rate=rate, total=int((warmup + after) * rate), hold=hold)
        traffic.start()
        try:
            await asyncio.sleep(warmup)
            killed_at = time.time()
            await asyncio.to_thread(holder.lose)
            # The edge is surely gone only now: an INVITE it took meanwhile (100 Trying) is in setup at the
            # loss, not new (seen once: its caller, no longer retransmitting, got no final answer).
            lost_at = time.time()
            figures["failover_s"] = round(await asyncio.to_thread(
                service_answers_from, HOST_ADDRESS, spec.address, spec.port, standby.name, 20.0), 2)
            assert standby.holds_address()
            await asyncio.to_thread(traffic.wait, after + hold + 60)
        finally:
            traffic.stop()
        calls = traffic.calls()
        in_progress = [c for c in calls if c.answered_at is not None and c.answered_at < killed_at
                       and (c.ended_at is None or c.ended_at > killed_at)]
        in_setup = [c for c in calls if c.invited_at < lost_at and c not in in_progress
                    and (c.ended_at is None or c.ended_at > killed_at)]
        new = [c for c in calls if c.invited_at >= lost_at]
        figures.update({
            "calls": len(calls), "failed": sum(c.failed for c in calls),
            "in_progress_at_kill": len(in_progress),
            "in_progress_fate": dict(Counter(c.ended for c in in_progress)),
            "in_setup_at_kill": len(in_setup), "in_setup_failed": sum(c.failed for c in in_setup),
            "new_calls_after_kill": len(new), "new_calls_after_kill_failed": sum(c.failed for c in new),
            "slowest_new_answer_s": round(max((c.answered_at - c.invited_at for c in new
                                               if c.answered_at is not None), default=0.0), 2),
        })
        print("\n" + json.dumps(figures))
        assert len(new) > 10 and len(in_progress) > 0
        # SIPp retransmits an unanswered INVITE (0.5, 1, 2, 4 s): the new calls reach the other edge.
        assert figures["new_calls_after_kill_failed"] == 0, figures
        # Calls in progress were record-routed via the service address: their BYEs pass the other edge,
        # which needs no state of theirs.
        assert all(c.ended in ("asterisk-bye", "caller-bye") for c in in_progress), figures

        # The phone registered once, before the loss: the surviving edge finds it (DMQ's copy).
        for node in nodes:
            for stand_in in STAND_INS:
                node.sandbox("cli", f"queue pause member {stand_in} queue kc-streets reason cluster-test")
        try:
            await phone.dial("*45")
            await on_every_node(nodes, bool, "the login")
            call = await asyncio.to_thread(one_call, cluster, tmp_path / "call", 20.0)
            assert call.final_status == 200 and not call.failed, call
            rung = await phone.rung(timeout=10, count=1)
            assert spec.address in (rung.header("Record-Route") or "")
            registers = [m for m in phone.messages() if m.method == "REGISTER" and m.direction == "sent"]
            assert len(registers) == 2, [m.start_line for m in registers]
            await phone.dial("*46")
            await on_every_node(nodes, lambda line: not line, "the logout")
        finally:
            for node in nodes:
                for stand_in in STAND_INS:
                    node.sandbox("cli", f"queue unpause member {stand_in} queue kc-streets")

        # The lost edge comes back: it probes the nodes, DMQ gives it the phone again, and the address
        # stays where it is (nopreempt), though the returning edge has the higher priority.
        rejoined = time.monotonic()
        await asyncio.to_thread(holder.rejoin)
        cluster.wait_states(all_active, timeout=15, edge=holder)
        # Reported, not asserted: in 1 run of 6 DMQ's sync after the rejoin did not come within 15 s
        # (docs/reliability.md, "Edge failover"); the address stays with the edge that has the phone.
        figures["rejoined_has_phone_s"] = None
        while time.monotonic() - rejoined < 20:
            if EXTENSION in " ".join(holder.registered()):
                figures["rejoined_has_phone_s"] = round(time.monotonic() - rejoined, 2)
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(3 * spec.advert_interval_ms / 1000 + 1)
        assert standby.holds_address() and not holder.holds_address()
        assert options_answer(HOST_ADDRESS, spec.address, spec.port, timeout=1.0) == f"ivr-edge {standby.name}"
    print("\n" + json.dumps(figures))  # docs/cluster.md's and docs/reliability.md's figures, for the record


@pytest.mark.timeout(120)
async def test_a_dead_or_hung_kamailio_on_a_live_edge_gives_the_address_up(cluster: ClusterRun,
                                                                          tmp_path: Path) -> None:
    """Kamailio alone fails on the edge holding the address; the host, its network and its keepalived
    stay up, so only keepalived's `kamcmd` check (every second, two failures) can move the address.
    After the previous test the address is on the edge that took it then (nopreempt kept it there).
    First the holder's Kamailio is SIGKILLed under a short burst of calls, then started again (as the
    harness starts it): DMQ gives it the phone back and the address stays. Then the new holder's
    Kamailio is SIGSTOPped (hung): the address moves back; resumed, it stays a standby."""
    assert cluster.network is not None and cluster.passwords is not None
    spec = cluster.network.cluster.edge
    holder = cluster.wait_holder(timeout=10)
    standby = next(e for e in cluster.edges.values() if e is not holder)
    assert standby.name is not None and holder.name is not None
    all_active = {n.address: "A" for n in cluster.nodes.values()}
    cluster.wait_states(all_active, timeout=10, edge=standby)
    figures: dict[str, object] = {"holder": holder.name, "standby": standby.name}
    password = agent_passwords(cluster.passwords.parent)[EXTENSION]
    async with agent_phone(EXTENSION, password, answer_after=0.5, talk=3.0, stay=90, workdir=tmp_path / "phone",
                           host=HOST_ADDRESS, registrar=f"{spec.address}:{spec.port}") as phone:
        started = time.monotonic()
        while EXTENSION not in " ".join(standby.registered()):
            assert time.monotonic() - started < 10, f"DMQ did not bring the phone to {standby.name}"
            await asyncio.sleep(0.1)

        # Kamailio SIGKILLed under calls: new calls wait for the other edge (INVITE retransmissions).
        rate, warmup, after, hold = 2.0, 2.0, 6.0, 3.0
        traffic = Traffic(tmp_path / "sipp", f"{PREFIX}-call", CALLER_ADDRESS, f"{spec.address}:{spec.port}",
                          rate=rate, total=int((warmup + after) * rate), hold=hold)
        traffic.start()
        try:
            await asyncio.sleep(warmup)
            log_at = holder.keepalived_log_size()
            killed_at = time.time()
            await asyncio.to_thread(holder.kill_kamailio)
            gone_at = time.time()  # as above: an INVITE taken until now is in setup at the kill, not new
            figures["kill_failover_s"] = round(await asyncio.to_thread(
                service_answers_from, HOST_ADDRESS, spec.address, spec.port, standby.name, 15.0), 2)
            holder.wait_keepalived("FAULT", log_at, timeout=1)  # the check failed, not the network
            assert standby.holds_address() and not holder.holds_address()
            await asyncio.to_thread(traffic.wait, after + hold + 30)
        finally:
            traffic.stop()
        calls = traffic.calls()
        new = [c for c in calls if c.invited_at >= gone_at]
        in_setup = [c for c in calls if killed_at - 0.5 <= c.invited_at < gone_at and c.answered_at is None]
        figures.update({
            "calls": len(calls), "failed": sum(c.failed for c in calls),
            "in_setup_at_kill": len(in_setup), "in_setup_failed": sum(c.failed for c in in_setup),
            "new_calls_after_kill": len(new), "new_calls_after_kill_failed": sum(c.failed for c in new),
            "slowest_new_answer_s": round(max((c.answered_at - c.invited_at for c in new
                                               if c.answered_at is not None), default=0.0), 2),
        })
        print("\n" + json.dumps(figures))
        assert len(new) >= 8, figures
        assert figures["new_calls_after_kill_failed"] == 0, figures
        # Those in progress ended through the other edge; only a call in its setup at the kill may be lost.
        assert figures["failed"] == figures["in_setup_failed"], figures

        # Started again: it probes the nodes, DMQ gives it the phone, keepalived's check passes again
        # and the instance goes back to BACKUP; the address stays (nopreempt).
        log_at = holder.keepalived_log_size()
        restarted = time.monotonic()
        await asyncio.to_thread(holder.start_kamailio)
        cluster.wait_states(all_active, timeout=15, edge=holder)
        while EXTENSION not in " ".join(holder.registered()):
            assert time.monotonic() - restarted < 15, f"DMQ did not give the phone back to {holder.name}"
            await asyncio.sleep(0.1)
        figures["restarted_has_phone_s"] = round(time.monotonic() - restarted, 2)
        await asyncio.to_thread(holder.wait_keepalived, "BACKUP", log_at, 10)
        figures["restarted_backup_s"] = round(time.monotonic() - restarted, 2)
        await asyncio.sleep(spec.advert_interval_ms / 1000 + 0.5)
        assert standby.holds_address() and not holder.holds_address()

        # The new holder's Kamailio hung: `kamcmd` times out twice, the address goes back.
        log_at = standby.keepalived_log_size()
        await asyncio.to_thread(standby.hang_kamailio)
        try:
            figures["hang_failover_s"] = round(await asyncio.to_thread(
                service_answers_from, HOST_ADDRESS, spec.address, spec.port, holder.name, 15.0), 2)
            standby.wait_keepalived("FAULT", log_at, timeout=1)
            assert holder.holds_address() and not standby.holds_address()
            log_at = standby.keepalived_log_size()
        finally:
            standby.resume_kamailio()
        resumed = time.monotonic()
        await asyncio.to_thread(standby.wait_keepalived, "BACKUP", log_at, 10)
        figures["resumed_backup_s"] = round(time.monotonic() - resumed, 2)
        await asyncio.sleep(spec.advert_interval_ms / 1000 + 0.5)
        assert holder.holds_address() and not standby.holds_address()
        assert EXTENSION in " ".join(standby.registered())  # its location table outlived the hang
        assert options_answer(HOST_ADDRESS, spec.address, spec.port, timeout=1.0) == f"ivr-edge {holder.name}"
        registers = [m for m in phone.messages() if m.method == "REGISTER" and m.direction == "sent"]
        assert len(registers) == 2, [m.start_line for m in registers]  # registered once, before all this
    print("\n" + json.dumps(figures))  # docs/cluster.md's and docs/reliability.md's figures, for the record
