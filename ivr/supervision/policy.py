"""Who may spy on which call, and with which ChanSpy options: pure decisions, no I/O.

A supervisor may spy on an agent who serves one of the supervisor's groups, only while the agent is in
a call from a queue of one of the supervisor's groups, and never on a call of a department whose
`listening` is `forbidden` (e.g. social services). A call belongs to a department through its agent
group; the group is known from the queue the caller was connected from. A call whose queue is not one
of a group's (an agent's own outbound call, a call from outside the queues) has no known department
and is refused: refusing is the safe side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ivr.config.loader import ConfigSet
from ivr.config.model import AgentGroup

SpyMode = Literal["listen", "whisper", "barge"]
MODES: tuple[SpyMode, ...] = get_args(SpyMode)

# ChanSpy options (Asterisk 22, app_chanspy): b = only a channel in a bridged call; q = quiet (no beep,
# no channel name read out, to either side); E = leave when the spied-on channel hangs up; S = leave
# when there is nothing (left) to spy on. Then w = whisper: the supervisor talks to the agent only,
# the caller does not hear it; B = barge: the supervisor talks to both the agent and the caller.
# No `d` (DTMF 4/5/6 would switch modes without the daemon knowing, so without an audit).
CHANSPY_OPTIONS: dict[SpyMode, str] = {"listen": "bqES", "whisper": "bqESw", "barge": "bqESB"}

# Supervisors' phones dial <code><agent's extension> ([supervisor-phones] in extensions.conf).
FEATURE_CODES: dict[str, SpyMode] = {"*49": "listen", "*50": "whisper", "*51": "barge"}

RefusalCode = Literal["bad_mode", "unknown_supervisor", "unknown_agent", "not_your_agent", "not_in_call",
                      "not_a_queue_call", "not_your_group", "listening_forbidden", "unavailable"]


class Refusal(Exception):
    """The spy request is refused; `code` is the API's machine code, the message is for people."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(message)
        self.code: RefusalCode = code
        self.message = message


@dataclass(frozen=True)
class LiveCall:
    """An agent's call as Asterisk has it now: the agent's channel in the bridge, and the queue the
    caller was connected from ("" when the other side is not a queued caller)."""

    channel: str
    queue: str


@dataclass(frozen=True)
class Decision:
    supervisor: str
    agent: str
    mode: SpyMode
    channel: str
    options: str
    queue: str
    group: str
    department: str


def supervisor_for_phone(config: ConfigSet, endpoint: str) -> str | None:
    """The supervisor whose phone (PJSIP endpoint = extension) this is."""
    for supervisor_id, supervisor in config.supervisors.items():
        if endpoint and supervisor.extension == endpoint:
            return supervisor_id
    return None


def agent_for_extension(config: ConfigSet, extension: str) -> str | None:
    for agent_id, agent in config.agents.items():
        if extension and agent.extension == extension:
            return agent_id
    return None


def group_of_queue(config: ConfigSet, queue: str) -> tuple[str, AgentGroup] | None:
    """The agent group one of whose queues (its own or a skill queue) this is."""
    for name, group in config.groups.items():
        if queue and queue in group.queues:
            return name, group
    return None


def check_mode(mode: str) -> SpyMode:
    for known in MODES:
        if mode == known:
            return known
    raise Refusal("bad_mode", f"mode must be one of {', '.join(MODES)}")


def check_agent(config: ConfigSet, supervisor_id: str, agent_id: str) -> None:
    """The supervisor may spy on this agent at all (before looking at any call)."""
    supervisor = config.supervisors.get(supervisor_id)
    if supervisor is None:
        raise Refusal("unknown_supervisor", "you are not a supervisor")
    agent = config.agents.get(agent_id)
    if agent is None:
        raise Refusal("unknown_agent", f"no agent '{agent_id}'")
    if not set(agent.groups) & set(supervisor.groups):
        raise Refusal("not_your_agent", f"{agent.name} serves none of your groups")


def decide(config: ConfigSet, supervisor_id: str, agent_id: str, mode: str, call: LiveCall | None) -> Decision:
    """Allow the spy (with its ChanSpy options) or raise a Refusal."""
    checked = check_mode(mode)
    check_agent(config, supervisor_id, agent_id)
    agent_name = config.agents[agent_id].name
    if call is None:
        raise Refusal("not_in_call", f"{agent_name} is not in a call")
    found = group_of_queue(config, call.queue)
    if found is None:
        raise Refusal("not_a_queue_call", f"{agent_name}'s call is not from a queue, so its department is unknown")
    group_name, group = found
    if group_name not in config.supervisors[supervisor_id].groups:
        raise Refusal("not_your_group", f"{agent_name}'s call is from the group '{group_name}', not one of yours")
    department = config.departments.get(group.department)
    if department is not None and department.listening == "forbidden":
        raise Refusal("listening_forbidden", f"{department.name} does not allow listening to its calls")
    return Decision(supervisor_id, agent_id, checked, call.channel, CHANSPY_OPTIONS[checked], call.queue, group_name,
                    group.department)


def channel_prefix(interface: str) -> str:
    """The start of every channel name Asterisk gives a call to this queue interface:
    `PJSIP/1001` → `PJSIP/1001-`, `Local/<exten>@<context>/n` → `Local/<exten>@<context>-`."""
    tech, _, rest = interface.partition("/")
    return f"{tech}/{rest.split('/', 1)[0]}-"
