"""Typed, frozen models of the YAML formats (except node kinds, which live in `ivr.engine.nodes`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]

_SPAN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_span(text: str) -> str:
    match = _SPAN.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a time span like \"07:00-18:00\"")
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if end <= start or end > 24 * 60:
        raise ValueError(f"'{text}' ends before it starts")
    return text


TimeSpan = Annotated[str, AfterValidator(_check_span)]


def span_minutes(span: str) -> tuple[int, int]:
    start, end = span.split("-")
    return int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleException(Frozen):
    date: dt.date
    hours: tuple[TimeSpan, ...] = ()
    closed: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _hours_or_closed(self) -> ScheduleException:
        if self.closed == bool(self.hours):
            raise ValueError("give either `hours` or `closed: true`")
        return self


class Schedule(Frozen):
    """Opening hours: weekly spans, Swedish holidays and eves, and dated exceptions."""

    timezone: str = "Europe/Stockholm"
    weekly: dict[Weekday, tuple[TimeSpan, ...]] = Field(default_factory=dict)
    public_holidays: Literal["closed", "open"] = "closed"
    eves: Literal["closed", "open"] = "closed"
    # Days before a holiday that Swedish employers shorten ("from 2pm" in the holidays package).
    day_before_holiday: tuple[TimeSpan, ...] | None = None
    exceptions: tuple[ScheduleException, ...] = ()

    @model_validator(mode="after")
    def _known_zone(self) -> Schedule:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{self.timezone}'") from exc
        dates = [e.date for e in self.exceptions]
        if len(dates) != len(set(dates)):
            raise ValueError("two exceptions for the same date")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Prompt(Frozen):
    """Something the caller hears: text per language, and optionally a recording per language."""

    text: dict[Language, str] = Field(default_factory=dict)
    recording: dict[Language, str] = Field(default_factory=dict)


Strategy = Literal["ringall", "leastrecent", "fewestcalls", "rrmemory", "linear", "wrandom", "random"]


class SkillRouting(Frozen):
    """Language skills of a group: a skill queue per language (`<queue>-<language>`) rings the agents
    who speak it first; after `widen_after` seconds every agent of the group is rung."""

    languages: tuple[Language, ...] = ()
    widen_after: int = Field(60, ge=0, le=3600)
    # The penalty of agents without the skill in a skill queue (skilled agents keep their own).
    unskilled_penalty: int = Field(5, ge=1, le=10)


class OverflowRule(Frozen):
    """Where a call goes when this group cannot take it: after `after` seconds of waiting, or at
    once when no agent of the group is logged in (`when_no_agents`)."""

    to: Identifier
    after: int | None = Field(None, ge=10, le=7200)
    when_no_agents: bool = False


class CallbackOffer(Frozen):
    """Offer "ring upp mig" (queued callback) when more than `when_waiting` callers are waiting."""

    when_waiting: int = Field(0, ge=0, le=1000)


class SurveyOffer(Frozen):
    """The after-call satisfaction survey: before the queue, the caller hears `survey-offer` and may press
    1 (within `wait_s` seconds) to answer one question (keys 1-5) when the agent hangs up."""

    wait_s: int = Field(4, ge=1, le=15)


class CallbackRequests(Frozen):
    """Callback requests left outside opening hours (the plan's `callback_request` node): placed at
    the next opening of `schedule` in the order they were left, at most `per_day` per opening day."""

    schedule: Identifier
    per_day: int = Field(50, ge=1, le=10000)


class ClosedRule(Frozen):
    """Outside `schedule`'s hours the caller hears `prompt` (a system prompt) and the call ends."""

    schedule: Identifier
    prompt: Identifier = "queue-closed"


WrapupCodeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# Recording of answered calls (docs/recordings.md): none, with an announcement, or asked ("press 2 if
# you do not want this call recorded").
RecordingMode = Literal["off", "announce", "ask"]


class Recording(Frozen):
    """How a group's (or a department's) answered calls are recorded, and for how long they are kept."""

    mode: RecordingMode = "off"
    retention_days: int = Field(90, ge=1, le=3650)
    # With `ask`: the key that declines the recording.
    decline_key: Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")] = "2"


class AgentGroup(Frozen):
    """A group of agents served by one Asterisk queue (plus one skill queue per skill language)."""

    queue: QueueName
    description: str = ""
    strategy: Strategy = "rrmemory"
    ring_timeout: int = Field(15, ge=5, le=120)
    wrapup: int = Field(10, ge=0, le=600)
    max_wait: int = Field(900, ge=30, le=7200)
    # Asterisk queue weight: when an agent serves several groups, the heavier group's callers go first.
    weight: int = Field(0, ge=0, le=100)
    # Added to every caller's priority in this group (QUEUE_PRIO), e.g. for urgent social matters.
    priority: int = Field(0, ge=0, le=10)
    department: str = ""
    skills: SkillRouting = Field(default_factory=SkillRouting)
    overflow: OverflowRule | None = None
    callback: CallbackOffer | None = None
    callback_requests: CallbackRequests | None = None
    closed: ClosedRule | None = None
    survey: SurveyOffer | None = None
    # Wrap-up (disposition) codes the agent picks after a call, with a label per page language
    # ({resolved: {sv: "Löst", en: "Resolved"}}); kept in the call record, counted by `ivr report`.
    wrapup_codes: dict[WrapupCodeName, dict[Language, str]] = Field(default_factory=dict)
    # The agent's page insists on a code (it cannot be skipped); docs/desktop.md says what happens
    # when none comes.
    wrapup_required: bool = False
    # Overrides the department's `recording`; a department with `recording_policy: forbidden` wins.
    recording: Recording | None = None

    def skill_queue(self, language: str) -> str | None:
        return f"{self.queue}-{language}" if language in self.skills.languages else None

    @property
    def queues(self) -> tuple[str, ...]:
        """Every Asterisk queue of the group: the group's own queue first, then its skill queues."""
        return (self.queue, *(f"{self.queue}-{lang}" for lang in self.skills.languages))


class Agent(Frozen):
    name: str
    extension: Extension
    groups: tuple[Identifier, ...] = ()
    skills: tuple[str, ...] = ()
    penalty: int = Field(0, ge=0, le=10)


class Supervisor(Frozen):
    """Sees and steers the agents of these groups on the web desktop (docs/desktop.md)."""

    name: str
    extension: Extension
    groups: tuple[Identifier, ...] = Field(min_length=1)


# --- who calls citizens, and what they see (docs/privacy-and-caller-id.md) ---------------------------
# What a citizen's phone shows when the city calls: the official's own line, the department's number,
# the main number, or nothing (presentation withheld).
Shown = Literal["direct_line", "department_number", "main_number", "withheld"]
# What the contact center's agents may learn about an earlier attempt when the citizen calls back.
Disclosure = Literal["none", "department", "person"]
# Whether supervisors may listen to (and whisper or barge into) the department's calls.
Listening = Literal["allowed", "forbidden"]
PurposeCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
DtmfKey = Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]


class Department(Frozen):
    """A department of the city whose staff call citizens."""

    name: str
    # The department's own switchboard number, shown when a caller-ID rule says `department_number`.
    number: E164 | None = None
    # The agent group that takes returning callers when the official does not answer; needed only when
    # several groups name this department (otherwise the one that does, else the default group).
    group: Identifier | None = None
    disclosure: Disclosure = "department"
    # Publish a `precall_notice` event (the city's SMS gateway texts the citizen) before each call.
    precall_notice: bool = False
    # May supervisors listen, whisper or barge into agents' calls of this department (ChanSpy,
    # docs/queues-and-agents.md)? A call belongs to a department through its agent group.
    listening: Listening = "allowed"
    # The default recording of the department's groups (a group's own `recording` overrides it) ...
    recording: Recording | None = None
    # ... unless the department forbids recording its calls at all (social services): then no group of
    # it records, and `ivr check` refuses a group that asks to.
    recording_policy: Listening = "allowed"


class Official(Frozen):
    """A city employee outside the contact center who calls citizens from a desk phone or softphone."""

    name: str
    extension: Extension
    direct_line: E164
    department: Identifier


class CallPurpose(Frozen):
    """Why an official calls: dialled as *8<code> before the number, or set by whoever places the call."""

    code: PurposeCode
    label: str  # the short reason agents may see (disclosure `person`)


class CallerIdRule(Frozen):
    """Every condition given must match the call; `show` is what the citizen then sees."""

    extension: Extension | None = None
    group: Identifier | None = None
    department: Identifier | None = None
    purpose: Identifier | None = None
    show: Shown
    note: str = ""

    @model_validator(mode="after")
    def _has_condition(self) -> CallerIdRule:
        if not self.conditions:
            raise ValueError("give at least one of extension, group, department, purpose")
        return self

    @property
    def conditions(self) -> tuple[tuple[str, str], ...]:
        pairs = (("extension", self.extension), ("group", self.group), ("department", self.department),
                 ("purpose", self.purpose))
        return tuple((name, value) for name, value in pairs if value is not None)


class CallerIdPolicy(Frozen):
    """Which number an outbound call shows. The most specific matching rule wins (ivr/callerid/policy.py)."""

    officials: Shown = "direct_line"  # the service board's decision
    contact_center: Shown = "main_number"  # agents, queued callbacks, the contact center's own outbound work
    name: str = Field("Malmö stad", max_length=40)  # CALLERID(name) whenever a number is shown
    purposes: dict[Identifier, CallPurpose] = Field(default_factory=dict)
    rules: tuple[CallerIdRule, ...] = ()


class ReturningCallers(Frozen):
    """A citizen who calls back after a missed attempt is offered a connection before the menu."""

    offer: bool = False  # needs the prompt below, so it is switched on where the prompt is written
    prompt: Identifier = "returning-caller"  # a system prompt
    languages: tuple[Language, ...] = Field(("sv", "en"), min_length=1)  # played one after the other
    key: DtmfKey = "1"
    wait_s: int = Field(4, ge=1, le=15)


class ContactRegistry(Frozen):
    """Who tried to reach a citizen: kept as keyed hashes, for `retention_days`, every lookup audited."""

    retention_days: int = Field(30, ge=1, le=366)
    audit_retention_days: int = Field(365, ge=30, le=3650)
    purge_every_minutes: int = Field(60, ge=1, le=1440)
    returning_callers: ReturningCallers = Field(default_factory=ReturningCallers)


PauseKey = Annotated[str, StringConstraints(pattern=r"^[1-9]$")]
PauseReason = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Announcements(Frozen):
    """What a waiting caller hears, in their language (app_queue's announcements)."""

    position: bool = True
    holdtime: bool = True
    every: int = Field(60, ge=15, le=600)
    # Positions above this are said as "more than N" (keeps numbers short in every language).
    position_limit: int = Field(10, ge=1, le=99)
    # Languages whose position/wait sounds `ivr prompts build` renders (Asterisk ships English only;
    # ivr.prompts.queue_sounds has the words for sv and ar).
    sound_languages: tuple[Language, ...] = ()


class CallbackSettings(Frozen):
    attempts: int = Field(3, ge=1, le=10)
    retry_after: int = Field(300, ge=5, le=7200)
    ring: int = Field(30, ge=10, le=120)
    # A waiting callback (and its encrypted number) is dropped after this many hours.
    keep_hours: int = Field(8, ge=1, le=72)


class PriorityBoosts(Frozen):
    """Queue priority added for callers the contact center should not keep waiting again."""

    repeat_within: int = Field(600, ge=0, le=86400)  # a second call within this many seconds...
    repeat_boost: int = Field(2, ge=0, le=10)  # ...gets this much more priority
    returning_boost: int = Field(3, ge=0, le=10)  # a caller the callback registry knows


class QueueSettings(Frozen):
    pause_reasons: dict[PauseKey, PauseReason] = Field(
        default_factory=lambda: {"1": "lunch", "2": "meeting", "3": "admin", "4": "training"})
    announcements: Announcements = Field(default_factory=Announcements)
    callback: CallbackSettings = Field(default_factory=CallbackSettings)
    priority: PriorityBoosts = Field(default_factory=PriorityBoosts)


# --- the operator's SIP trunk (asterisk-config/README.md "Connecting the operator's trunk") ----------
# `ivr asterisk generate` turns it into pjsip_trunk.conf. Addresses Asterisk matches inbound calls
# against are IP literals (no DNS lookup per call); the password never appears here.
Codec = Literal["alaw", "ulaw", "g722"]
HostName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")]
SipUser = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+_.-]{1,64}$")]
FilePath = Annotated[str, StringConstraints(pattern=r"^/[^\s;]{1,250}$")]


def _ip_literal(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not an IP address") from exc


_WITH_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<v4>[0-9.]+)):(?P<port>[0-9]{1,5})$")


def _ip_network(text: str) -> str:
    """An IP address or network as `identify` matches it; an address may name a source port
    (`192.0.2.10:5060`, `[2001:db8::1]:5060`) when only that port is the operator."""
    with_port = _WITH_PORT.match(text)
    try:
        if with_port:
            port = int(with_port["port"])
            if not 1 <= port <= 65535:
                raise ValueError(text)
            address = ipaddress.ip_address(with_port["v6"] or with_port["v4"])
            return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not an IP address (optionally with :port) or network such as "
                         "192.0.2.0/28 (host names would be looked up in DNS)") from exc


IpAddress = Annotated[str, AfterValidator(_ip_literal)]
IpNetwork = Annotated[str, AfterValidator(_ip_network)]


class TrunkAuth(Frozen):
    """The operator's digest credentials. The password lives in pjsip_trunk_auth.conf next to pjsip.conf
    (an `[operator-auth]` section; mode 0640, never in git)."""

    username: SipUser
    # Also REGISTER with the operator (a trunk that finds the city by registration, not by address).
    registration: bool = False
    registration_expiry: int = Field(3600, ge=60, le=86400)


class Trunk(Frozen):
    """The operator's SIP trunk: where outbound calls go and which addresses inbound calls come from."""

    # The operator's SBC: an IP address (no DNS per call) or a host name (looked up when dialling).
    address: IpAddress | HostName
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    # Offered in this order; Sweden's PSTN is A-law, so alaw comes first.
    codecs: tuple[Codec, ...] = Field(("alaw", "ulaw"), min_length=1)
    # Source addresses of the operator's inbound calls (`identify`): IP addresses or networks.
    inbound_from: tuple[IpNetwork, ...]
    # How the caller ID travels: P-Asserted-Identity, Remote-Party-ID, or only the From header.
    caller_id_header: Literal["pai", "rpid", "from"] = "pai"
    # The domain in From (and PAI/RPID) when the operator asks for one; default: Asterisk's address.
    from_domain: HostName | None = None
    # The server's own address towards the operator: Asterisk's trunk transport binds here. Needed for
    # tcp and tls; with udp, leaving it out uses the phones' transport (pjsip.conf transport-udp).
    local_address: IpAddress | None = None
    local_port: int = Field(5060, ge=1, le=65535)
    # TLS: the certificate and key Asterisk presents (PEM files on the server).
    tls_certificate: FilePath | None = None
    tls_private_key: FilePath | None = None
    # Seconds between OPTIONS pings; 0 = never (Asterisk then never marks the trunk unreachable).
    qualify_seconds: int = Field(60, ge=0, le=3600)
    auth: TrunkAuth | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Trunk:
        if self.codecs[0] != "alaw":
            raise ValueError("codecs must start with alaw (Sweden's PSTN is A-law; the first codec is offered first)")
        if len(set(self.codecs)) != len(self.codecs):
            raise ValueError("a codec is listed twice")
        if not self.inbound_from:
            raise ValueError("inbound_from is empty: no inbound call from the operator would be accepted")
        if self.transport != "udp" and self.local_address is None:
            raise ValueError(f"transport {self.transport} needs local_address (the address Asterisk's trunk "
                             "transport binds to)")
        if self.transport == "tls" and not (self.tls_certificate and self.tls_private_key):
            raise ValueError("transport tls needs tls_certificate and tls_private_key")
        return self


# --- the cluster (docs/cluster.md) -------------------------------------------------------------------
# Kamailio in front of several Asterisk nodes, each reaching several daemons. `ivr kamailio generate`
# writes Kamailio's dispatcher list from it; `ivr asterisk generate` the Asterisk side (the edge's
# PJSIP endpoint, the daemons the dialplan tries in turn; `--node NAME` the node's own transport).
# Addresses only: the edge and the nodes never look a name up in DNS while a call is set up.


def _interface_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", text):
        raise ValueError(f"'{text}' is not a network interface name (Linux: 1 to 15 letters, digits, '_', '.', '-')")
    return text


InterfaceName = Annotated[str, AfterValidator(_interface_name)]


class ClusterEdgeHost(Frozen):
    """One of the two Kamailio hosts of an edge pair: its own address (probes, DMQ, VRRP) and the
    network interface the service address is added to when it holds it."""

    name: Identifier
    address: IpAddress
    interface: InterfaceName = "eth0"


# The edge's second SIP port, above its own (ClusterEdge.phones_port).
PHONES_PORT_OFFSET = 10


class ClusterEdge(Frozen):
    """Kamailio: where the operator's trunk and the phones send SIP, and where the nodes see it from.
    With `hosts`, `address` is a service (virtual) address that keepalived moves between two
    Kamailios; without, it is the one Kamailio's own address."""

    address: IpAddress
    port: int = Field(5060, ge=1, le=65535)
    # Two edges sharing `address` (docs/cluster.md): none for a single edge, or exactly two.
    hosts: tuple[ClusterEdgeHost, ...] = ()
    # VRRP (keepalived) between the two hosts: the virtual router's id on their network, and the
    # interval of the holder's advertisements (the other takes over after about three missed ones).
    vrrp_router_id: int = Field(51, ge=1, le=255)
    advert_interval_ms: int = Field(1000, ge=100, le=10000, multiple_of=10)
    # Where the operator's calls may come from (IP addresses or networks); default: trunk.inbound_from.
    # Any other INVITE that is neither an authenticated phone's nor a node's is refused (403).
    trunk_from: tuple[IpNetwork, ...] = ()
    # The agents' browser softphones: SIP over WebSocket (plain ws, TCP) on the service address. In
    # production a TLS proxy (wss) is in front of it (docs/webrtc.md); never the SIP port itself.
    ws_port: int = Field(5066, ge=1, le=65535)

    @property
    def phones_port(self) -> int:
        """The port the edge sends the phones' own requests (feature codes, outbound calls) to the nodes
        from, so that the nodes tell them from the operator's calls (docs/cluster.md)."""
        return self.port + PHONES_PORT_OFFSET

    @model_validator(mode="after")
    def _pair(self) -> ClusterEdge:
        if self.ws_port in (self.port, self.phones_port):
            raise ValueError(f"ws_port {self.ws_port} is one of the edge's SIP ports ({self.port}, {self.phones_port})")
        if len(self.hosts) not in (0, 2):
            raise ValueError(f"hosts lists {len(self.hosts)} edge(s): give exactly two (a pair sharing the "
                             f"address {self.address} through keepalived), or leave hosts out for a single edge")
        if self.hosts:
            first, second = self.hosts
            if first.name == second.name:
                raise ValueError(f"edge host name {first.name!r} is used twice")
            if first.address == second.address:
                raise ValueError(f"both edge hosts have the address {first.address}")
            for host in self.hosts:
                if host.address == self.address:
                    raise ValueError(f"edge host {host.name} has the shared address {self.address} as its own: "
                                     "each host needs an address of its own besides it")
        return self

    @property
    def paired(self) -> bool:
        return bool(self.hosts)

    def sources(self) -> list[str]:
        """Every address the nodes see the edge's requests from: the service address, and each host's own
        (dispatcher's probes leave from there, so that the standby knows the nodes' state)."""
        return [self.address, *(host.address for host in self.hosts)]


class ClusterNode(Frozen):
    """An Asterisk node running the same asterisk-config/; Kamailio probes it with OPTIONS."""

    name: Identifier
    address: IpAddress
    port: int = Field(5060, ge=1, le=65535)


class ClusterDaemon(Frozen):
    """An `ivr run` daemon's FastAGI listener (IVR_AGI_HOST / IVR_AGI_PORT on that machine)."""

    name: Identifier
    address: IpAddress
    port: int = Field(4573, ge=1, le=65535)


class Cluster(Frozen):
    edge: ClusterEdge
    nodes: tuple[ClusterNode, ...] = Field(min_length=1)
    daemons: tuple[ClusterDaemon, ...] = Field(min_length=1)
    # Seconds between Kamailio's OPTIONS probes of each node; a node is out after `probe_threshold`
    # unanswered probes in a row (1 would let one lost packet take a healthy node out).
    probe_interval: int = Field(1, ge=1, le=60)
    probe_threshold: int = Field(2, ge=1, le=10)
    # Milliseconds Kamailio waits for a node's first answer to an INVITE before trying the next node.
    invite_timeout_ms: int = Field(1000, ge=200, le=10000)

    @model_validator(mode="after")
    def _distinct(self) -> Cluster:
        for kind, items in (("node", self.nodes), ("daemon", self.daemons)):
            names = [item.name for item in items]
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"{kind} name {twice[0]!r} is used twice")
            places = [f"{item.address}:{item.port}" for item in items]
            again = sorted({place for place in places if places.count(place) > 1})
            if again:
                raise ValueError(f"two {kind}s at {again[0]}")
        if any(node.address == self.edge.address and node.port == self.edge.port for node in self.nodes):
            raise ValueError("a node has the edge's own address and port")
        taken = {item.address: f"{kind} {item.name}" for kind, items in (("node", self.nodes),
                                                                        ("daemon", self.daemons)) for item in items}
        for host in self.edge.hosts:
            if host.address in taken:
                raise ValueError(f"edge host {host.name} has the address of {taken[host.address]} ({host.address})")
        return self


class RoutingRules(Frozen):
    site: Identifier = "malmo"
    main_number: E164
    default_group: Identifier
    schedules: dict[Identifier, Schedule] = Field(default_factory=dict)
    system_prompts: dict[Identifier, Prompt] = Field(default_factory=dict)
    languages: tuple[Language, ...] = ("sv", "en", "ar")
    queueing: QueueSettings = Field(default_factory=QueueSettings)
    caller_id: CallerIdPolicy = Field(default_factory=CallerIdPolicy)
    contact_registry: ContactRegistry = Field(default_factory=ContactRegistry)
    # The operator's SIP trunk; without it `ivr asterisk generate` writes a trunk-less pjsip_trunk.conf
    # and outbound calls fail (callers being transferred fall back to the default queue).
    trunk: Trunk | None = None
    # Several Asterisk nodes behind Kamailio (docs/cluster.md); without it, one Asterisk and one daemon.
    cluster: Cluster | None = None

    @model_validator(mode="after")
    def _trunk_reaches_the_edge(self) -> RoutingRules:
        if self.cluster is not None and not self.cluster.edge.trunk_from and self.trunk is None:
            raise ValueError("cluster: the edge takes the operator's calls only from cluster.edge.trunk_from "
                             "(or trunk.inbound_from): give one of them")
        return self

    def trunk_sources(self) -> tuple[str, ...]:
        """Where the edge accepts the operator's calls from (cluster.edge.trunk_from, else trunk.inbound_from)."""
        if self.cluster is not None and self.cluster.edge.trunk_from:
            return self.cluster.edge.trunk_from
        return self.trunk.inbound_from if self.trunk is not None else ()


class GroupsFile(Frozen):
    groups: dict[Identifier, AgentGroup] = Field(default_factory=dict)
    agents: dict[Identifier, Agent] = Field(default_factory=dict)
    departments: dict[Identifier, Department] = Field(default_factory=dict)
    officials: dict[Identifier, Official] = Field(default_factory=dict)
    supervisors: dict[Identifier, Supervisor] = Field(default_factory=dict)
