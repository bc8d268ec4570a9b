"""The AMI events the daemon handles, and nothing else: Asterisk sends its user only these.

Asterisk emits dozens of events per call (Newchannel, Newstate, VarSet, Newexten, DTMF...) that the
daemon never reads; parsing them cost about 2 ms of CPU a call (BENCHMARKS.md). So the daemon's AMI
user in asterisk-config/manager.conf carries one `eventfilter(action(include),name(X)) =` line per
event below, and the daemon's login asks only for their classes (`Events:`).
tests/unit/test_ami_events.py checks this list against the handlers the daemon subscribes and
against manager.conf. Answers to actions (QueueStatus rows, Status, DBGet...) are not events and
are not filtered; an asynchronous Originate's outcome is (OriginateResponse).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Event name → its AMI class (Asterisk 22's documentation of each event).
EVENT_CLASSES: Mapping[str, str] = MappingProxyType({
    # ivr.live.ami_bridge: queues, agents and hang-ups → product events
    "QueueCallerJoin": "agent",
    "QueueCallerLeave": "agent",
    "QueueCallerAbandon": "agent",
    "AgentCalled": "agent",
    "AgentRingNoAnswer": "agent",
    "AgentConnect": "agent",
    "AgentComplete": "agent",
    "QueueMemberStatus": "agent",
    "QueueMemberPause": "agent",
    "QueueMemberAdded": "agent",
    "QueueMemberRemoved": "agent",
    "Hangup": "call",
    # the dialplan's own news: transfers, callbacks, outbound dials, supervisors listening in
    "UserEvent": "user",
    # ivr.ami.client.AmiClient.originate: the outcome of an asynchronous Originate
    "OriginateResponse": "call",
})
DAEMON_EVENTS = frozenset(EVENT_CLASSES)
# The daemon's login `Events:` value: the classes above.
LOGIN_EVENT_CLASSES = ",".join(sorted(set(EVENT_CLASSES.values())))
