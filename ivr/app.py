"""Everything a FastAGI route needs, passed explicitly (no module-global state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.ami.port import AmiPort
from ivr.callbacks.service import CallbackService
from ivr.calls import CallRegistry
from ivr.clock import Clock
from ivr.cluster.agents import AgentSessions
from ivr.config.holder import ConfigHolder
from ivr.contacts.services import ContactServices
from ivr.events.sink import EventSink, FanoutSink
from ivr.privacy import NumberHasher
from ivr.queues.routing import QueueRouter
from ivr.recordings.keeper import RecordingKeeper
from ivr.settings import Settings
from ivr.supervision.service import SpyService


@dataclass
class App:
    settings: Settings
    config: ConfigHolder
    hasher: NumberHasher
    calls: CallRegistry
    clock: Clock
    events: EventSink = field(default_factory=FanoutSink)
    ami: AmiPort | None = None  # the daemon's AmiClient (it connects in the background)
    # Skills, overflow and priority boosts for calls heading for a queue (docs/queues-and-agents.md).
    queues: QueueRouter = field(default_factory=QueueRouter)
    callbacks: CallbackService | None = None  # when the daemon runs one
    contacts: ContactServices | None = None  # the contact registry and pre-call notices (ivr.contacts)
    spy: SpyService | None = None  # supervisors listening in (ivr.supervision), for the route `spy`
    recordings: RecordingKeeper | None = None  # recorded calls (ivr.recordings), when the daemon keeps them
    # Agents' queue sessions on every node of a cluster (ivr.cluster.agents): told of each change made here.
    agent_sessions: AgentSessions | None = None
