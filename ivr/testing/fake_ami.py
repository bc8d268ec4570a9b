"""`FakeAmi`: the one in-memory `AmiPort` for unit tests, a small Asterisk as AMI shows it.

It keeps what the daemon's actions read and change, and answers in Asterisk's shapes:

- queue members (`members`): QueueAdd, QueueRemove and QueuePause as app_queue answers them (an agent
  already there, not there, not found), each change also sent as the QueueMember* event Asterisk
  sends, to whoever subscribed with `on_event` (the AMI bridge of the desktop's tests);
- callers waiting in queues (`queue_entries`) for QueueStatus, channels (`channels`) for
  CoreShowChannels, channel variables (`variables`) for Getvar, astdb (`astdb`) for DBGet;
- any other action: `Response: Success`, unless `answer()` gave one (a recorded QueueStatus, a
  refusal). Every action is kept in `actions`, every Originate in `originated`.

Events are sent with `emit()` (and the member events by the actions, before they answer),
re-synchronisation after a login with `reconnect()`. A coroutine callback runs to its end before
`emit()` returns, so a test reads its effect next; unlike `AmiClient`'s, a callback that raises is
not isolated: the test should see it fail.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Awaitable, Callable, Mapping

from ivr.ami.errors import AmiNotConnected
from ivr.ami.port import ActionFields, EventCallback, ReconnectCallback
from ivr.ami.reply import AmiHeaders, AmiReply

# An action's fields as sent (a repeated header stays a list: Originate's Variable).
Sent = dict[str, str | list[str]]
Answer = AmiReply | Callable[[Sent], AmiReply]
# What an Originate does instead of succeeding at once: (channel, its keyword fields) -> OriginateResponse.
OriginateHook = Callable[[str, dict[str, object]], Awaitable[AmiHeaders]]


class FakeAmi:
    def __init__(self, *, connected: bool = True) -> None:
        self.connected = connected
        # (queue, interface) -> MemberName, Paused ("0"/"1"), PausedReason
        self.members: dict[tuple[str, str], dict[str, str]] = {}
        self.queue_entries: list[dict[str, str]] = []  # QueueEntry rows: Queue, Channel, Uniqueid...
        self.channels: list[dict[str, str]] = []  # CoreShowChannel rows: Channel, BridgeId...
        self.variables: dict[tuple[str, str], str] = {}  # (channel, variable) -> value
        self.astdb: dict[str, str] = {}  # "family/key" -> value
        self.actions: list[Sent] = []  # every action, in order
        # Every Originate: {"channel": ..., and its keyword arguments}.
        self.originated: list[dict[str, object]] = []
        self.originate_error: Exception | None = None  # raised by the next Originates, when set
        self.originate_hook: OriginateHook | None = None
        self.subscriptions: list[tuple[str, EventCallback]] = []
        self.reconnect_callbacks: list[ReconnectCallback] = []
        self._answers: dict[str, Answer] = {}
        self._outbox: list[AmiHeaders] = []  # events an action causes, sent before it answers

    # --- AmiPort ------------------------------------------------------------------------------

    async def action(self, fields: ActionFields, timeout: float | None = None) -> AmiReply:
        if not self.connected:
            raise AmiNotConnected("FakeAmi is not connected")
        sent: Sent = {key: value if isinstance(value, str) else list(value) for key, value in fields.items()}
        self.actions.append(sent)
        name = str(sent.get("Action", ""))
        answer = self._answers.get(name.lower())
        asterisk = _ASTERISK.get(name.lower())
        if answer is not None:
            reply = answer if isinstance(answer, AmiReply) else answer(sent)
        elif asterisk is not None:
            reply = asterisk(self, sent)
        else:
            reply = AmiReply.success(Message="ok")
        events, self._outbox = self._outbox, []
        for event in events:
            await self.emit(event)
        return reply

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        ring_timeout: float = 30.0,
        account: str | None = None,
    ) -> AmiHeaders:
        if not self.connected:
            raise AmiNotConnected("FakeAmi is not connected")
        fields: dict[str, object] = {
            "context": context, "exten": exten, "priority": priority, "application": application, "data": data,
            "caller_id": caller_id, "variables": variables, "ring_timeout": ring_timeout, "account": account}
        self.originated.append({"channel": channel, **fields})
        if self.originate_error is not None:
            raise self.originate_error
        if self.originate_hook is not None:
            return await self.originate_hook(channel, fields)
        return {"Event": "OriginateResponse", "Response": "Success", "Channel": channel}

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        self.subscriptions.append((pattern, callback))

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        self.reconnect_callbacks.append(callback)

    # --- the test's side ---------------------------------------------------------------------------

    def answer(self, action: str, answer: Answer) -> None:
        """Answer `action` with this reply (or what this function makes of the action's fields)."""
        self._answers[action.lower()] = answer

    @property
    def patterns(self) -> set[str]:
        """The event names (or patterns) something subscribed to."""
        return {pattern for pattern, _ in self.subscriptions}

    async def emit(self, event: AmiHeaders) -> None:
        """Send one event to its subscribers, as Asterisk would; coroutine callbacks are awaited."""
        name = str(event.get("Event", ""))
        for pattern, callback in list(self.subscriptions):
            if fnmatch.fnmatchcase(name.lower(), pattern.lower()):
                result = callback(event)
                if result is not None:
                    await result

    async def reconnect(self) -> None:
        """A new login: every `on_reconnect` callback, in order."""
        for callback in list(self.reconnect_callbacks):
            result = callback()
            if inspect.isawaitable(result):
                await result

    def _member_event(self, event: str, key: tuple[str, str], member: dict[str, str]) -> None:
        self._outbox.append({"Event": event, "Queue": key[0], "Interface": key[1], "Status": "1", "InCall": "0",
                             **member})


# --- Asterisk's answers ---------------------------------------------------------------------------

def _queue_add(ami: FakeAmi, fields: Sent) -> AmiReply:
    key = (str(fields.get("Queue", "")), str(fields.get("Interface", "")))
    if key in ami.members:
        return AmiReply.error("Unable to add interface: Already there")
    ami.members[key] = member = {"MemberName": str(fields.get("MemberName", "")), "Paused": "0", "PausedReason": ""}
    ami._member_event("QueueMemberAdded", key, member)
    return AmiReply.success(Message="Added interface to queue")


def _queue_remove(ami: FakeAmi, fields: Sent) -> AmiReply:
    key = (str(fields.get("Queue", "")), str(fields.get("Interface", "")))
    member = ami.members.pop(key, None)
    if member is None:
        return AmiReply.error("Unable to remove interface: Not there")
    ami._member_event("QueueMemberRemoved", key, {"MemberName": member["MemberName"]})
    return AmiReply.success(Message="Removed interface from queue")


def _queue_pause(ami: FakeAmi, fields: Sent) -> AmiReply:
    interface, queue = str(fields.get("Interface", "")), fields.get("Queue")
    keys = [k for k in ami.members if k[1] == interface and (queue is None or k[0] == queue)]
    if not keys:
        return AmiReply.error("Interface not found")
    paused = str(fields.get("Paused", "")).lower() == "true"
    for key in keys:
        ami.members[key].update(Paused="1" if paused else "0", PausedReason=str(fields.get("Reason", "")))
        ami._member_event("QueueMemberPause", key, ami.members[key])
    return AmiReply.success(Message="Interface paused successfully" if paused else "Interface unpaused successfully")


def _queue_status(ami: FakeAmi, fields: Sent) -> AmiReply:
    queues = sorted({q for q, _ in ami.members} | {e.get("Queue", "") for e in ami.queue_entries} - {""})
    rows: list[AmiHeaders] = [{"Event": "QueueParams", "Queue": q} for q in queues]
    rows += [{"Event": "QueueMember", "Queue": q, "Name": m["MemberName"], "Location": i, "StateInterface": i,
              "Status": "1", "Paused": m["Paused"], "PausedReason": m["PausedReason"], "InCall": "0"}
             for (q, i), m in sorted(ami.members.items())]
    rows += [{"Event": "QueueEntry", **entry} for entry in ami.queue_entries]
    return AmiReply.success(*rows, {"Event": "QueueStatusComplete", "ListItems": str(len(rows))},
                            EventList="start", Message="Queue status will follow")


def _core_show_channels(ami: FakeAmi, fields: Sent) -> AmiReply:
    rows: list[AmiHeaders] = [{"Event": "CoreShowChannel", **row} for row in ami.channels]
    return AmiReply.success(*rows, {"Event": "CoreShowChannelsComplete", "ListItems": str(len(rows))},
                            EventList="start", Message="Channels will follow")


def _getvar(ami: FakeAmi, fields: Sent) -> AmiReply:
    variable = str(fields.get("Variable", ""))
    value = ami.variables.get((str(fields.get("Channel", "")), variable), "")
    return AmiReply.success(Variable=variable, Value=value)


def _dbget(ami: FakeAmi, fields: Sent) -> AmiReply:
    family, key = str(fields.get("Family", "")), str(fields.get("Key", ""))
    value = ami.astdb.get(f"{family}/{key}")
    if value is None:
        return AmiReply.error("Database entry not found")
    return AmiReply.success({"Event": "DBGetResponse", "Family": family, "Key": key, "Val": value},
                            {"Event": "DBGetComplete", "ListItems": "1"},
                            EventList="start", Message="Result will follow")


def _dbput(ami: FakeAmi, fields: Sent) -> AmiReply:
    ami.astdb[f"{fields.get('Family', '')}/{fields.get('Key', '')}"] = str(fields.get("Val", ""))
    return AmiReply.success(Message="Updated database successfully")


def _dbdel(ami: FakeAmi, fields: Sent) -> AmiReply:
    if ami.astdb.pop(f"{fields.get('Family', '')}/{fields.get('Key', '')}", None) is None:
        return AmiReply.error("Database entry not found")
    return AmiReply.success(Message="Key deleted successfully")


_ASTERISK: dict[str, Callable[[FakeAmi, Sent], AmiReply]] = {
    "queueadd": _queue_add, "queueremove": _queue_remove, "queuepause": _queue_pause,
    "queuestatus": _queue_status, "coreshowchannels": _core_show_channels, "getvar": _getvar, "dbget": _dbget,
    "dbput": _dbput, "dbdel": _dbdel,
}
