"""Agents: login/logout/pause over AMI, and the feature-code route that knows agents by their phone."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.agents.control import AgentControl, AgentError, agent_for_phone, pause_reason
from ivr.config.loader import ConfigSet
from ivr.daemon import Daemon
from ivr.settings import Settings
from ivr.testing.fake_ami import FakeAmi
from ivr.testing.fake_asterisk import agi_headers

REPO = Path(__file__).resolve().parents[2]
SIM = "Local/9{extension}@agent-sim/n"


async def test_login_joins_every_queue_of_the_groups_with_skill_penalties(shipped_config: ConfigSet) -> None:
    ami = FakeAmi()
    done = await AgentControl(ami, SIM).login(shipped_config, "cecilia.berg")
    assert done.queues == ("kc-social", "kc-social-ar", "kc-social-en", "kc-school", "kc-school-ar")
    added = [a for a in ami.actions if a["Action"] == "QueueAdd"]
    adds = {a["Queue"]: a for a in added}
    assert adds["kc-social-ar"]["Penalty"] == "20" and adds["kc-social"]["Penalty"] == "0"
    assert {a["MemberName"] for a in added} == {"cecilia.berg"}
    assert {a["Interface"] for a in added} == {a["StateInterface"] for a in added} == {"Local/91003@agent-sim/n"}
    # The browser softphone's queues are left first (in case the agent was logged in with it).
    assert {a["Interface"] for a in ami.actions if a["Action"] == "QueueRemove"} == {"PJSIP/web1003"}


async def test_login_with_the_browser_leaves_the_desk_phone(shipped_config: ConfigSet) -> None:
    ami = FakeAmi()
    control = AgentControl(ami, SIM, "PJSIP/web{extension}")
    await control.login(shipped_config, "david.lind")
    await control.login(shipped_config, "david.lind", device="browser")
    assert set(ami.members) == {("kc-building", "PJSIP/web1004"), ("kc-streets", "PJSIP/web1004")}
    await control.pause(shipped_config, "david.lind", "lunch")
    assert ami.actions[-1]["Interface"] == "PJSIP/web1004" and ami.actions[-1]["Paused"] == "true"
    done = await control.logout(shipped_config, "david.lind")
    assert done.queues == ("kc-building", "kc-streets") and not ami.members


async def test_second_login_only_refreshes_penalties(shipped_config: ConfigSet) -> None:
    ami = FakeAmi()
    control = AgentControl(ami, SIM)
    await control.login(shipped_config, "farah.ali")
    ami.actions.clear()
    await control.login(shipped_config, "farah.ali")
    kinds = [a["Action"] for a in ami.actions]
    assert kinds.count("QueuePenalty") == kinds.count("QueueAdd") > 0


async def test_logout_pause_unpause(shipped_config: ConfigSet) -> None:
    ami = FakeAmi()
    control = AgentControl(ami, SIM)
    with pytest.raises(AgentError, match="not logged in"):
        await control.pause(shipped_config, "david.lind", "lunch")
    await control.login(shipped_config, "david.lind")
    await control.pause(shipped_config, "david.lind", "lunch")
    assert ami.actions[-1] == {"Action": "QueuePause", "Interface": "Local/91004@agent-sim/n", "Paused": "true",
                               "Reason": "lunch"}
    await control.unpause(shipped_config, "david.lind")
    assert ami.actions[-1]["Paused"] == "false" and "Reason" not in ami.actions[-1]
    done = await control.logout(shipped_config, "david.lind")
    assert done.queues == ("kc-building", "kc-streets") and not ami.members


async def test_bad_input_is_refused(shipped_config: ConfigSet) -> None:
    control = AgentControl(FakeAmi(), SIM)
    with pytest.raises(AgentError, match="unknown agent"):
        await control.login(shipped_config, "nobody")
    with pytest.raises(AgentError, match="bad pause reason"):
        await control.pause(shipped_config, "david.lind", "lunch\r\nAction: Originate")


def test_phone_and_pause_reason_lookup(shipped_config: ConfigSet) -> None:
    assert agent_for_phone(shipped_config, "1002") == ("bilal.haddad", shipped_config.agents["bilal.haddad"])
    assert agent_for_phone(shipped_config, "") is None and agent_for_phone(shipped_config, "9999") is None
    assert pause_reason(shipped_config, "1") == "lunch" and pause_reason(shipped_config, "") == "pause"


# --- the FastAGI route, over a real TCP session --------------------------------------------------


class AgiPhone:
    """The Asterisk side of one FastAGI session, as far as these routes use it: GET/SET VARIABLE,
    prompts, keys, SAY DIGITS. `keys` is a script: every interruptible prompt and every wait takes
    the next entry, "-" meaning no key there."""

    def __init__(self, variables: dict[str, str], keys: str = "") -> None:
        self.variables = dict(variables)
        self.set_by_route: dict[str, str] = {}
        self.played: list[str] = []
        self.keys = list(keys)

    def answer(self, line: str) -> str:
        words = shlex.split(line)
        verb = " ".join(words[:2]).upper()
        if verb == "GET VARIABLE":
            value = self.variables.get(words[2])
            return f"200 result=1 ({value})" if value is not None else "200 result=0"
        if verb == "SET VARIABLE":
            self.set_by_route[words[2]] = self.variables[words[2]] = words[3]
            return "200 result=1"
        if verb in ("STREAM FILE", "SAY DIGITS"):
            self.played.append(words[2] if verb == "STREAM FILE" else f"digits:{words[2]}")
            # Each interruptible prompt takes the next scripted key ("-": none, listen to the end).
            key = self.keys.pop(0) if self.keys and len(words) > 3 and words[3] else ""
            return f"200 result={ord(key) if key and key in words[3] else 0} endpos=8000"
        if verb == "WAIT FOR":
            key = self.keys.pop(0) if self.keys else ""
            return f"200 result={ord(key) if key and key != '-' else 0}"
        return "200 result=0"


async def agi_session(port: int, route: str, phone: AgiPhone, *, args: tuple[str, ...] = (),
                      caller: str = "+46701234567", extension: str = "s") -> AgiPhone:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = {f"agi_arg_{n}": arg for n, arg in enumerate(args, 1)}
    writer.write(agi_headers(route, uniqueid="u1", caller=caller, dnid=extension, port=port,
                             extra={"agi_extension": extension, **extra}))
    await writer.drain()
    try:
        while raw := await reader.readline():
            writer.write(phone.answer(raw.decode().rstrip("\n")).encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()
    return phone


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    settings = Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, agent_interface=SIM)
    running = Daemon(settings)
    await running.start()
    yield running
    await running.stop(grace=1)


async def feature_code(port: int, action: str, variables: dict[str, str], caller: str = "1002") -> AgiPhone:
    return await agi_session(port, "agent", AgiPhone(variables), args=(action,), caller=caller, extension=action)


async def test_phone_logs_its_agent_in(daemon: Daemon) -> None:
    ami = FakeAmi()
    daemon.app.ami = ami
    channel = await feature_code(daemon.server.port, "login", {"IVR_AGENT_PHONE": "1006"})
    assert channel.set_by_route == {"IVR_AGENT_RESULT": "ok"}
    assert {a["MemberName"] for a in ami.actions if a["Action"] == "QueueAdd"} == {"farah.ali"}
    channel = await feature_code(daemon.server.port, "pause", {"IVR_AGENT_PHONE": "1006", "IVR_PAUSE_KEY": "2"})
    assert ami.actions[-1]["Reason"] == "meeting" and channel.set_by_route["IVR_AGENT_RESULT"] == "ok"


async def test_identity_never_comes_from_caller_id_or_digits(daemon: Daemon) -> None:
    ami = FakeAmi()
    daemon.app.ami = ami
    # Caller ID says 1002, but the dialplan found no PJSIP endpoint: refused.
    channel = await feature_code(daemon.server.port, "login", {}, caller="1002")
    assert channel.set_by_route == {"IVR_AGENT_RESULT": "unknown-phone"} and not ami.actions
    channel = await feature_code(daemon.server.port, "login", {"IVR_AGENT_PHONE": "1002&x"})
    assert channel.set_by_route == {"IVR_AGENT_RESULT": "unknown-phone"} and not ami.actions


async def test_asterisk_unreachable_is_said(daemon: Daemon) -> None:
    ami = FakeAmi()
    ami.connected = False
    daemon.app.ami = ami
    channel = await feature_code(daemon.server.port, "logout", {"IVR_AGENT_PHONE": "1001"})
    assert channel.set_by_route == {"IVR_AGENT_RESULT": "failed"} and not ami.actions
