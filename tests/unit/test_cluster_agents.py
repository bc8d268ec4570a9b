"""Agents' queue sessions on every node (ivr.cluster.agents): what one node publishes after an agent's
action, and what another node's Asterisk then holds; and the phones' side of the edge (Kamailio's
phones_auth.cfg, the nodes' desk-phone endpoints behind it)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from ivr.agents.control import AgentControl
from ivr.ami.reply import AmiReply
from ivr.asterisk_gen.pjsip import pjsip_agents, read_credentials
from ivr.cli import main
from ivr.cluster.agents import AgentSession, AgentSessions, after, parse_session, session_message
from ivr.config.loader import ConfigSet
from ivr.daemon import reconnect_max_s
from ivr.events.mqtt import MessageBuilder
from ivr.kamailio_gen import REALM, ha1, phone_extensions, phones_cfg
from ivr.settings import Settings
from ivr.testing.fake_ami import FakeAmi
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
DESK = "PJSIP/{extension}"


@pytest.fixture
def cluster_config(tmp_path: Path) -> ConfigSet:
    """The shipped config with kamailio/cluster.example.yaml's `cluster:`."""
    root = tmp_path / "cluster-config"
    root.mkdir()
    for name in ("dialplans", "agents"):
        shutil.copytree(REPO / name, root / name)
    rules = (REPO / "routing_rules.yaml").read_text(encoding="utf-8")
    (root / "routing_rules.yaml").write_text(rules + "\n" + (REPO / "kamailio" / "cluster.example.yaml")
                                             .read_text(encoding="utf-8"), encoding="utf-8")
    return load_config([root])


class Node:
    """One node's daemon side: its Asterisk (FakeAmi) and its AgentSessions, publishing into `wire`."""

    def __init__(self, name: str, config: ConfigSet, wire: list[AgentSession], clock: list[float]) -> None:
        self.ami = FakeAmi()
        self.wire = wire

        async def publish(session: AgentSession) -> None:
            wire.append(session)

        self.sessions = AgentSessions(name, lambda: config, lambda: AgentControl(self.ami, DESK) if self.ami.connected
                                      else None, publish, lambda: clock[0])

    def members(self, agent: str) -> dict[tuple[str, str], dict[str, str]]:
        return {k: v for k, v in self.ami.members.items() if v["MemberName"] == agent}


async def test_a_login_and_a_pause_on_one_node_reach_the_other(cluster_config: ConfigSet) -> None:
    wire: list[AgentSession] = []
    clock = [1000.0]
    a, b = Node("ivr-1", cluster_config, wire, clock), Node("ivr-2", cluster_config, wire, clock)
    control = AgentControl(a.ami, DESK)
    await control.login(cluster_config, "david.lind")  # *45 through node a
    await a.sessions.changed("david.lind", "login")
    clock[0] += 1
    await control.pause(cluster_config, "david.lind", "lunch")
    await a.sessions.changed("david.lind", "pause", reason="lunch")
    assert [(s.logged_in, s.paused, s.reason, s.by) for s in wire] == [(True, False, "", "ivr-1"),
                                                                     (True, True, "lunch", "ivr-1")]
    for session in wire:  # the broker delivers both to both nodes
        await b.sessions.received(session)
        await a.sessions.received(session)
    assert set(b.members("david.lind")) == {("kc-building", "PJSIP/1004"), ("kc-streets", "PJSIP/1004")}
    assert {m["Paused"] for m in b.members("david.lind").values()} == {"1"}
    assert {m["PausedReason"] for m in b.members("david.lind").values()} == {"lunch"}
    assert a.sessions.applied == 0  # its own changes coming back are not applied again
    # Logout on b: a follows, and an older message arriving late changes nothing.
    clock[0] += 1
    await AgentControl(b.ami, DESK).logout(cluster_config, "david.lind")
    await b.sessions.changed("david.lind", "logout")
    await a.sessions.received(wire[-1])
    await a.sessions.received(wire[0])
    assert not a.members("david.lind") and not b.members("david.lind")


async def test_a_node_that_comes_back_gets_every_session_again(cluster_config: ConfigSet) -> None:
    wire: list[AgentSession] = []
    clock = [50.0]
    b = Node("ivr-2", cluster_config, wire, clock)
    b.ami.connected = False  # its Asterisk is down when the session arrives
    await b.sessions.received(AgentSession("anna.andersson", logged_in=True, at=10.0, by="ivr-1"))
    assert not b.ami.members
    b.ami.connected = True
    b.ami.members.clear()  # a restarted Asterisk (its astdb lost, say)
    await b.sessions.reapply()
    assert ("kc-general", "PJSIP/1001") in b.ami.members
    assert b.ami.members[("kc-general", "PJSIP/1001")]["Paused"] == "0"


async def test_without_a_cluster_nothing_is_published_or_applied(shipped_config: ConfigSet) -> None:
    wire: list[AgentSession] = []
    node = Node("solo", shipped_config, wire, [1.0])
    await node.sessions.changed("anna.andersson", "login")
    await node.sessions.received(AgentSession("anna.andersson", logged_in=True, at=5.0, by="other"))
    assert not wire and not node.ami.actions


def test_sessions_are_signed_with_the_cluster_key() -> None:
    builder = MessageBuilder("malmo")
    session = after(None, "emina.hodzic", "pause", device="browser", reason="meeting", at=12.5, by="ivr-2")
    message = session_message(builder, session, b"k" * 32)
    assert message.topic == "ivr/malmo/cluster/agents/emina.hodzic" and message.retain
    assert parse_session(message.payload, b"k" * 32) == session
    assert parse_session(message.payload, b"x" * 32) is None  # another key
    body = json.loads(message.payload)
    body["paused"] = False  # tampered
    assert parse_session(json.dumps(body).encode(), b"k" * 32) is None
    assert parse_session(session_message(builder, session).payload) == session  # no key: not signed
    assert parse_session(b"{not json") is None
    assert session.device == "browser" and session.paused and session.reason == "meeting"


# --- the phones at the edge -----------------------------------------------------------------------------

def test_phones_auth_holds_hashes_never_passwords() -> None:
    text = phones_cfg({"1004": ("1004", "s3cret-pw")})
    expected = hashlib.md5(f"1004:{REALM}:s3cret-pw".encode(), usedforsecurity=False).hexdigest()
    assert f'$sht(phones=>1004) = "{expected}";' in text
    assert "s3cret-pw" not in text
    assert "event_route[htable:mod-init]" in text
    cfg = (REPO / "kamailio" / "kamailio.cfg").read_text(encoding="utf-8")
    for needed in ('import_file "phones_auth.cfg"', 'pv_www_authenticate("AUTH_REALM", "$sht(phones=>$au)", "1")',
                   'save("location")', 'lookup("location")', "force_send_socket(udp:EDGE_ADDR:PHONES_PORT)"):
        assert needed in cfg, needed


def test_kamailio_generate_writes_the_phones_secret_file(cluster_config: ConfigSet, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path / "cluster-config")  # the fixture's config folder
    passwords = tmp_path / "pjsip_agents_auth.conf"
    assert main(["asterisk", "passwords", "--out", str(passwords)]) == 0
    out = tmp_path / "k"
    assert main(["kamailio", "generate", "--out", str(out), "--edge", "edge-1", "--passwords", str(passwords)]) == 0
    secret = out / "phones_auth.cfg"
    assert secret.stat().st_mode & 0o777 == 0o600
    users = re.findall(r"\$sht\(phones=>(\w+)\)", secret.read_text(encoding="utf-8"))
    assert users == phone_extensions(cluster_config)
    # The browser softphones too, from the same passwords: their hash is of their own password.
    assert "web1001" in users and "1001" in users and "1901" in users and "web1901" not in users  # no browser: sup.
    text = secret.read_text(encoding="utf-8")
    credentials = read_credentials(passwords, "web1001")
    assert credentials is not None and credentials[1] not in text
    assert f'$sht(phones=>web1001) = "{ha1("web1001", credentials[1])}";' in text
    assert main(["kamailio", "generate", "--out", str(out), "--edge", "edge-1", "--passwords", str(passwords),
                 "--check"]) == 0
    settings = (out / "cluster.cfg").read_text(encoding="utf-8")
    assert '"!PHONES_PORT!5070!g"' in settings and f'"!AUTH_REALM!{REALM}!g"' in settings
    assert '"!WS_PORT!5066!g"' in settings  # cluster.edge.ws_port's default


def test_desk_phones_behind_the_edge_trust_only_its_address(cluster_config: ConfigSet,
                                                            shipped_config: ConfigSet) -> None:
    text = pjsip_agents(cluster_config)
    block = text.split("; david.lind\n", 1)[1].split("\n\n", 1)[0]
    assert "auth = agent-1004-auth" not in block  # Kamailio authenticated the phone
    assert "permit = 10.98.7.10/255.255.255.255" in block and "deny = 0.0.0.0/0.0.0.0" in block
    assert "contact = sip:1004@10.98.7.10:5060" in block and "transport = transport-edge" in block
    single = pjsip_agents(shipped_config)
    assert "auth = agent-1004-auth" in single and "permit =" not in single


def test_browser_softphones_behind_the_edge_keep_webrtc_and_trust_only_its_address(
        cluster_config: ConfigSet, shipped_config: ConfigSet) -> None:
    text = pjsip_agents(cluster_config)
    block = text.split("; david.lind\n", 1)[1].split("\n\n", 1)[0]
    web = block[block.index("[web1004](agent-webrtc)"):]
    # WebRTC media (the template's webrtc = yes), signalling over UDP through Kamailio, which
    # authenticated the browser over its WebSocket.
    assert web.splitlines() == ["[web1004](agent-webrtc)", "aors = web1004", 'callerid = "David Lind" <1004>',
                                "transport = transport-edge", "deny = 0.0.0.0/0.0.0.0",
                                "permit = 10.98.7.10/255.255.255.255", "[web1004](agent-webrtc-aor)",
                                "contact = sip:web1004@10.98.7.10:5060", "qualify_frequency = 0"]
    single = pjsip_agents(shipped_config)
    assert "[web1004](agent-webrtc)\nauth = agent-web1004-auth\naors = web1004\n" in single
    template = (REPO / "asterisk-config" / "pjsip.conf").read_text(encoding="utf-8").split("[agent-webrtc](!)", 1)[1]
    assert "webrtc = yes" in template.split("\n\n", 1)[0] and "transport" not in template.split("\n\n", 1)[0]


def test_kamailio_takes_the_browsers_sip_over_websocket() -> None:
    cfg = (REPO / "kamailio" / "kamailio.cfg").read_text(encoding="utf-8")
    for needed in ('loadmodule "websocket.so"', 'loadmodule "xhttp.so"', 'loadmodule "nathelper.so"',
                   "listen=tcp:EDGE_ADDR:WS_PORT", "tcp_accept_no_cl=yes", "event_route[xhttp:request]",
                   "ws_handle_handshake()", 'nat_uac_test("64")', "fix_nated_register()", "add_contact_alias()",
                   "handle_ruri_alias()", 'modparam("nathelper|registrar", "received_avp", "$avp(RECEIVED)")'):
        assert needed in cfg, needed
    # A browser is reached over its WebSocket, never forced onto the UDP socket as a desk phone is.
    to_phone = cfg.split("route[TO_PHONE] {", 1)[1].split("\n}\n", 1)[0]
    assert 'if (!($ru =~ ";transport=wss?")) {\n\t\tforce_send_socket(udp:EDGE_ADDR:EDGE_PORT);' in to_phone


def test_a_cluster_node_retries_its_asterisk_sooner(cluster_config: ConfigSet, shipped_config: ConfigSet,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert reconnect_max_s(Settings(), cluster_config) == 5.0
    assert reconnect_max_s(Settings(), shipped_config) == 30.0
    monkeypatch.setenv("IVR_AMI_RECONNECT_MAX_S", "12")
    assert reconnect_max_s(Settings(), cluster_config) == 12.0


async def test_a_replay_that_asterisk_refuses_while_booting_is_tried_again(cluster_config: ConfigSet) -> None:
    wire: list[AgentSession] = []
    b = Node("ivr-2", cluster_config, wire, [50.0])
    b.sessions.retry_s = 0.01
    await b.sessions.received(AgentSession("anna.andersson", logged_in=True, at=10.0, by="ivr-1"))
    b.ami.members.clear()  # restarted
    refusals = [2]

    def booting(fields: dict[str, object]) -> AmiReply:
        if refusals[0] > 0:
            refusals[0] -= 1
            return AmiReply.error("Invalid/unknown command: QueueAdd. Use Action: ListCommands to show")
        del b.ami._answers["queueadd"]  # loaded now: the fake's own QueueAdd from here on
        return AmiReply.error("Invalid/unknown command: QueueAdd")

    b.ami.answer("QueueAdd", booting)
    await b.sessions.reapply()
    assert ("kc-general", "PJSIP/1001") in b.ami.members
