"""Supervisors listening in: who may spy on which call (pure policy), finding the agent's call in
Asterisk's channel list, the spy service's audit rows (real desktop store on SQLite), the page's
one-time tickets, the end-of-spy event, and `ivr check` on `Department.listening`."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from ivr.ami.errors import AmiOriginateFailed
from ivr.asterisk_gen.pjsip import pjsip_agents
from ivr.config import ConfigError, ConfigSet
from ivr.desktop.hub import DesktopHub
from ivr.desktop.store import WebStore, read_audit
from ivr.desktop.users import WebUser, agent_groups, user_for
from ivr.supervision import service as service_module
from ivr.supervision.live import find_call
from ivr.supervision.policy import (
    CHANSPY_OPTIONS,
    FEATURE_CODES,
    LiveCall,
    Refusal,
    agent_for_extension,
    channel_prefix,
    decide,
    group_of_queue,
    supervisor_for_phone,
)
from ivr.supervision.service import USER_EVENT, SpyService
from ivr.testing.fake_ami import FakeAmi
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
LENA = "lena.strand"  # the shipped supervisor: groups general, social, school


def refusal(config: ConfigSet, agent: str, mode: str, call: LiveCall | None, supervisor: str = LENA) -> str:
    with pytest.raises(Refusal) as caught:
        decide(config, supervisor, agent, mode, call)
    return caught.value.code


# --- policy -------------------------------------------------------------------------------------------

def test_chanspy_options_per_mode() -> None:
    # Quiet, only a bridged call, leave with the call; whisper reaches the agent only, barge both.
    assert CHANSPY_OPTIONS == {"listen": "bqES", "whisper": "bqESw", "barge": "bqESB"}
    assert FEATURE_CODES == {"*49": "listen", "*50": "whisper", "*51": "barge"}


def test_a_general_call_of_their_agent_is_allowed_in_each_mode(shipped_config: ConfigSet) -> None:
    call = LiveCall("PJSIP/1002-0000000a", "kc-general")
    for mode, options in CHANSPY_OPTIONS.items():
        decision = decide(shipped_config, LENA, "bilal.haddad", mode, call)
        assert (decision.mode, decision.options, decision.channel) == (mode, options, "PJSIP/1002-0000000a")
        assert (decision.group, decision.department) == ("general", "contact_center")


def test_a_skill_queue_belongs_to_its_group(shipped_config: ConfigSet) -> None:
    decision = decide(shipped_config, LENA, "farah.ali", "listen", LiveCall("PJSIP/1006-00000001", "kc-school-ar"))
    assert (decision.group, decision.department) == ("school", "education")
    assert group_of_queue(shipped_config, "kc-social-en") is not None
    assert group_of_queue(shipped_config, "kc-nowhere") is None


def test_social_services_forbids_listening_in_every_mode(shipped_config: ConfigSet) -> None:
    assert shipped_config.departments["social_services"].listening == "forbidden"
    assert shipped_config.departments["education"].listening == "allowed"
    for mode in CHANSPY_OPTIONS:
        for queue in ("kc-social", "kc-social-ar"):
            assert refusal(shipped_config, "bilal.haddad", mode, LiveCall("PJSIP/1002-0000000b", queue)) \
                == "listening_forbidden"


def test_refusals(shipped_config: ConfigSet) -> None:
    general = LiveCall("PJSIP/1005-0000000c", "kc-general")
    assert refusal(shipped_config, "david.lind", "listen", LiveCall("PJSIP/1004-1", "kc-building")) \
        == "not_your_agent"  # building and streets: none of Lena's groups
    assert refusal(shipped_config, "emina.hodzic", "listen", LiveCall("PJSIP/1005-1", "kc-building")) \
        == "not_your_group"  # Lena's agent (general), but this call is a building call
    assert refusal(shipped_config, "emina.hodzic", "listen", None) == "not_in_call"
    assert refusal(shipped_config, "emina.hodzic", "listen", LiveCall("PJSIP/1005-1", "")) == "not_a_queue_call"
    assert refusal(shipped_config, "emina.hodzic", "eavesdrop", general) == "bad_mode"
    assert refusal(shipped_config, "nobody", "listen", general) == "unknown_agent"
    assert refusal(shipped_config, "emina.hodzic", "listen", general, supervisor="anna.andersson") \
        == "unknown_supervisor"  # an agent is not a supervisor
    assert decide(shipped_config, LENA, "emina.hodzic", "barge", general).options == "bqESB"


def test_phones_and_extensions(shipped_config: ConfigSet) -> None:
    assert supervisor_for_phone(shipped_config, "1901") == LENA
    assert supervisor_for_phone(shipped_config, "1002") is None and supervisor_for_phone(shipped_config, "") is None
    assert agent_for_extension(shipped_config, "1002") == "bilal.haddad"
    assert agent_for_extension(shipped_config, "1901") is None


def test_channel_prefix() -> None:
    assert channel_prefix("PJSIP/1001") == "PJSIP/1001-"
    assert channel_prefix("PJSIP/web1001") == "PJSIP/web1001-"
    assert channel_prefix("Local/91001@agent-sim/n") == "Local/91001@agent-sim-"


def test_supervisors_phone_is_generated_in_their_context(shipped_config: ConfigSet) -> None:
    phones = pjsip_agents(shipped_config)
    assert "[1901](supervisor-phone)\nauth = agent-1901-auth\naors = 1901\n" in phones
    template = (REPO / "asterisk-config" / "pjsip.conf").read_text()
    assert "[supervisor-phone](!,agent-phone)\ncontext = supervisor-phones\n" in template


# --- ivr check ----------------------------------------------------------------------------------------

def config_copy(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "config"
    shutil.copytree(REPO / "dialplans", root / "dialplans")
    shutil.copytree(REPO / "agents", root / "agents")
    shutil.copy(REPO / "routing_rules.yaml", root / "routing_rules.yaml")
    path = root / "agents" / "officials.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return root


def test_ivr_check_knows_listening(tmp_path: Path) -> None:
    root = config_copy(tmp_path, "    listening: forbidden\n", "    listening: sometimes\n")
    with pytest.raises(ConfigError) as caught:
        load_config([root])
    [problem] = [p for p in caught.value.problems if "listening" in p.format() or "sometimes" in p.format()]
    assert problem.file.endswith("officials.yaml") and problem.severity == "error"
    assert "allowed" in problem.format() and "forbidden" in problem.format()


def test_listening_defaults_to_allowed(tmp_path: Path) -> None:
    root = config_copy(tmp_path, "    listening: forbidden\n", "")
    config = load_config([root])
    assert config.departments["social_services"].listening == "allowed"
    call = LiveCall("PJSIP/1002-0000000d", "kc-social")
    assert decide(config, LENA, "bilal.haddad", "whisper", call).department == "social_services"


def test_the_schema_knows_listening() -> None:
    schema = (REPO / "schemas" / "agents.schema.json").read_text()
    assert '"listening"' in schema and '"forbidden"' in schema


# --- the agent's call in Asterisk's channel list ----------------------------------------------------

def channels_ami(channels: list[dict[str, str]], variables: dict[tuple[str, str], str]) -> FakeAmi:
    """The shared fake Asterisk with this table of channels (CoreShowChannels) and variables (Getvar)."""
    ami = FakeAmi()
    ami.channels = channels
    ami.variables = variables
    return ami


CALLER = "Local/s@caller-sim-00000001;1"
AGENT_LEG = "Local/91002@agent-sim-00000002;1"
CHANNELS = [
    {"Channel": CALLER, "BridgeId": "b1", "Application": "Queue"},
    {"Channel": "Local/s@caller-sim-00000001;2", "BridgeId": "", "Application": "Wait"},
    {"Channel": AGENT_LEG, "BridgeId": "b1", "Application": "AppQueue"},
    {"Channel": "Local/91002@agent-sim-00000002;2", "BridgeId": "", "Application": "Wait"},
    {"Channel": "PJSIP/1003-00000005", "BridgeId": "b2", "Application": "AppQueue"},
    {"Channel": "Local/cb7@ivr-callback-hold-00000004;2", "BridgeId": "b2", "Application": "Queue"},
]


async def test_find_call_takes_the_bridged_leg_and_the_callers_queue() -> None:
    ami = channels_ami(CHANNELS, {(CALLER, "IVR_QUEUED"): "kc-social-ar",
                                 ("Local/cb7@ivr-callback-hold-00000004;2", "IVR_CB_QUEUE"): "kc-school"})
    assert await find_call(ami, ["Local/91002@agent-sim/n"]) == LiveCall(AGENT_LEG, "kc-social-ar")
    # A queued callback's stand-in names its queue in IVR_CB_QUEUE.
    assert await find_call(ami, ["PJSIP/1003"]) == LiveCall("PJSIP/1003-00000005", "kc-school")
    # PJSIP/100 must not match PJSIP/1003's channel; nobody in a call: None.
    assert await find_call(ami, ["PJSIP/100", "PJSIP/1001"]) is None


async def test_a_bridge_without_a_queued_caller_has_no_queue() -> None:
    ami = channels_ami([{"Channel": "PJSIP/1002-00000009", "BridgeId": "b3"},
                       {"Channel": "PJSIP/2101-0000000a", "BridgeId": "b3"}], {})
    assert await find_call(ami, ["PJSIP/1002"]) == LiveCall("PJSIP/1002-00000009", "")


# --- the service: audit rows, tickets, the end --------------------------------------------------------

@pytest.fixture
async def store(tmp_path: Path) -> Any:
    web = WebStore(f"sqlite:///{tmp_path / 'web.db'}")
    await web.start()
    yield web
    await web.stop()


def service_for(config: ConfigSet, ami: FakeAmi, store: WebStore, messages: list[Any],
                clock: list[float]) -> SpyService:
    def interfaces(agent: str) -> list[str]:
        return [f"Local/9{config.agents[agent].extension}@agent-sim/n"]

    return SpyService(lambda: config, lambda: ami, interfaces, store.audit,
                      lambda supervisor, agent, data: messages.append((supervisor, agent, data)),
                      clock=lambda: clock[0])


async def audit_rows(store: WebStore) -> list[tuple[float, str, str, str, dict[str, Any]]]:
    return await store.run(read_audit)


async def test_refusals_are_audited(shipped_config: ConfigSet, store: WebStore) -> None:
    ami = channels_ami(CHANNELS, {(CALLER, "IVR_QUEUED"): "kc-social"})
    service = service_for(shipped_config, ami, store, [], [1000.0])
    with pytest.raises(Refusal):
        await service.decide(LENA, "bilal.haddad", "listen", "page")
    with pytest.raises(Refusal):
        await service.decide(LENA, "david.lind", "barge", "phone")
    rows = await audit_rows(store)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        (LENA, "spy.refused", "bilal.haddad", {"mode": "listen", "code": "listening_forbidden", "via": "page"}),
        (LENA, "spy.refused", "david.lind", {"mode": "barge", "code": "not_your_agent", "via": "phone"})]
    # Not an agent of hers: refused before Asterisk is even asked.
    assert [a["Action"] for a in ami.actions] == ["CoreShowChannels", "Getvar"]


async def test_start_and_end_are_audited_with_the_duration(shipped_config: ConfigSet, store: WebStore) -> None:
    ami = channels_ami(CHANNELS, {(CALLER, "IVR_QUEUED"): "kc-general"})
    messages: list[Any] = []
    clock = [1000.0]
    service = service_for(shipped_config, ami, store, messages, clock)
    decision = await service.decide(LENA, "bilal.haddad", "whisper", "phone")
    session = await service.start(decision, "phone")
    assert decision.channel == AGENT_LEG and decision.options == "bqESw"
    service.on_user_event({"Event": "UserEvent", "UserEvent": USER_EVENT, "SpyId": session.spy_id, "Seconds": "42"})
    service.on_user_event({"Event": "UserEvent", "UserEvent": "Other", "SpyId": session.spy_id})
    service.on_user_event({"Event": "UserEvent", "UserEvent": USER_EVENT, "SpyId": "'; DROP", "Seconds": "1"})
    await asyncio.sleep(0.2)
    rows = await audit_rows(store)
    assert [r[2] for r in rows] == ["spy.started", "spy.ended"]
    started, ended = rows[0][4], rows[1][4]
    assert started == {"spy_id": session.spy_id, "mode": "whisper", "via": "phone", "queue": "kc-general",
                       "group": "general", "department": "contact_center"}
    assert ended == {"spy_id": session.spy_id, "mode": "whisper", "via": "phone", "seconds": 42}
    assert [m[2]["state"] for m in messages] == ["active", "ended"]
    assert messages[1][:2] == (LENA, "bilal.haddad") and messages[1][2]["seconds"] == 42
    assert service.sessions == {}


async def test_no_audit_no_spy(shipped_config: ConfigSet) -> None:
    async def broken(actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        raise OSError("database gone")

    ami = channels_ami(CHANNELS, {(CALLER, "IVR_QUEUED"): "kc-general"})
    service = SpyService(lambda: shipped_config, lambda: ami, lambda a: ["Local/91002@agent-sim/n"], broken)
    decision = await service.decide(LENA, "bilal.haddad", "listen", "phone")
    with pytest.raises(Refusal) as caught:
        await service.start(decision, "phone")
    assert caught.value.code == "unavailable" and service.sessions == {}


async def test_tickets_are_one_time_and_expire(shipped_config: ConfigSet, store: WebStore) -> None:
    clock = [1000.0]
    ami = channels_ami(CHANNELS, {})
    service = service_for(shipped_config, ami, store, [], clock)
    ticket, pending = service.issue_ticket(LENA, "bilal.haddad", "barge")
    assert service.redeem(ticket) == pending and service.redeem(ticket) is None
    late, _ = service.issue_ticket(LENA, "bilal.haddad", "listen")
    clock[0] += 120
    assert service.redeem(late) is None
    assert service.redeem("") is None and service.redeem("x" * 200) is None


async def test_ring_originates_into_the_supervisors_context(shipped_config: ConfigSet, store: WebStore) -> None:
    messages: list[Any] = []
    ami = channels_ami(CHANNELS, {})
    service = service_for(shipped_config, ami, store, messages, [1000.0])
    ticket, pending = service.issue_ticket(LENA, "bilal.haddad", "listen")
    service.ring("PJSIP/1901", "*491002", pending, ticket, '"Listen 1002" <1002>')
    await asyncio.sleep(0.05)
    [call] = ami.originated
    assert call["channel"] == "PJSIP/1901" and call["context"] == "supervisor-phones" and call["exten"] == "*491002"
    assert call["variables"] == {"IVR_SPY_TICKET": ticket}
    assert messages[0][2] == {"state": "ringing", "agent": "bilal.haddad", "mode": "listen"}


async def test_a_failed_ring_is_announced_and_its_ticket_dropped(shipped_config: ConfigSet, store: WebStore) -> None:
    no_phone = channels_ami(CHANNELS, {})
    no_phone.originate_error = AmiOriginateFailed("Originate failed (reason 3)", reason="3")
    messages: list[Any] = []
    service = service_for(shipped_config, no_phone, store, messages, [1000.0])
    ticket, pending = service.issue_ticket(LENA, "bilal.haddad", "whisper")
    service.ring("PJSIP/1901", "*501002", pending, ticket, '"Whisper 1002" <1002>')
    await asyncio.sleep(0.05)
    assert [m[2]["state"] for m in messages] == ["ringing", "failed"]
    assert messages[1][2] == {"state": "failed", "agent": "bilal.haddad", "mode": "whisper",
                              "error": "phone_not_answered"}
    assert service.redeem(ticket) is None


def test_spy_messages_reach_supervisors_only(shipped_config: ConfigSet) -> None:
    """A silent listen stays silent: not on the agent's own page, nor another group's supervisor's."""
    hub = DesktopHub(lambda agent: agent_groups(shipped_config, agent))
    bilal = hub.subscribe(user_for(shipped_config, "bilal.haddad") or pytest.fail("no bilal"))
    lena = hub.subscribe(user_for(shipped_config, LENA) or pytest.fail("no lena"))
    other = hub.subscribe(WebUser("olof", "Olof", "supervisor", frozenset({"building"}), frozenset({"supervise"})))
    hub.to_supervisors("bilal.haddad", "spy", {"state": "active"})
    assert lena.queue.get_nowait() == ("spy", {"state": "active"})
    assert bilal.queue.empty() and other.queue.empty()


async def test_an_end_after_a_daemon_restart_is_audited_from_the_channels_report(shipped_config: ConfigSet,
                                                                                  store: WebStore) -> None:
    service = service_for(shipped_config, channels_ami(CHANNELS, {}), store, [], [1000.0])
    service.on_user_event({"UserEvent": USER_EVENT, "SpyId": "0123456789abcdef", "Seconds": "75",
                           "Supervisor": LENA, "Agent": "bilal.haddad", "Mode": "barge"})
    service.on_user_event({"UserEvent": USER_EVENT, "SpyId": "fedcba9876543210", "Seconds": "5",
                           "Supervisor": "x,y", "Agent": "bilal.haddad", "Mode": "barge"})  # not an id: ignored
    await asyncio.sleep(0.2)
    rows = await audit_rows(store)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        (LENA, "spy.ended", "bilal.haddad", {"spy_id": "0123456789abcdef", "mode": "barge", "seconds": 75,
                                             "restarted": True})]


async def test_spies_whose_end_never_comes_are_forgotten_oldest_first(shipped_config: ConfigSet,
                                                                       store: WebStore,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "MAX_SESSIONS", 3)
    ami = channels_ami(CHANNELS, {(CALLER, "IVR_QUEUED"): "kc-general"})
    service = service_for(shipped_config, ami, store, [], [1000.0])
    decision = await service.decide(LENA, "bilal.haddad", "listen", "phone")
    started = [(await service.start(decision, "phone")).spy_id for _ in range(5)]
    assert list(service.sessions) == started[2:]
