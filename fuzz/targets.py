"""One function per fuzz target: `target(data: bytes) -> None` raises only when an invariant breaks.

What may legitimately fail (a protocol error on junk, a hang-up) is caught here; anything else that
escapes (a KeyError, an IndexError, a hang, an injected command line, a number in clear) is a bug.
`SEEDS` gives each target a few realistic inputs to start mutating from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, cast

from panoramisk.message import Message

from ivr.agi.channel import AgiChannel
from ivr.agi.errors import AgiError, AgiProtocolError
from ivr.agi.protocol import (
    MAX_COMMAND_BYTES,
    HeaderParser,
    decode_line,
    format_command,
    parse_headers,
    parse_reply,
    sanitize_arg,
)
from ivr.agi.session import AgiSession
from ivr.ami.errors import AmiProtocolError
from ivr.ami.message import Framer
from ivr.channel import DTMF_KEYS, CallerHungUp
from ivr.events.mqtt import MessageBuilder, topic_segment
from ivr.events.sink import MemorySink
from ivr.live.ami_bridge import AmiBridge
from ivr.privacy import NumberHasher, mask_number, scrub_text
from ivr.testing.fake_asterisk import agi_headers as fake_headers
from ivr.testing.fake_asterisk import split_command

Target = Callable[[bytes], None]

_HEADER_NAME = re.compile(r"[A-Za-z0-9_]+")
_LONG_DIGITS = re.compile(r"\d{7,}")
_UNSAFE_IN_TOPIC = re.compile(r"[/+#\x00-\x1f\x7f\ud800-\udfff]")
_STANDIN_CHANNEL = re.compile(r"^Local/cb(\d+)@ivr-callback-hold")


# --- FastAGI ------------------------------------------------------------------------------------

def agi_headers(data: bytes) -> None:
    """The header block a peer sends first, whole and line by line as the server reads it."""
    try:
        headers = parse_headers(data)
    except AgiProtocolError:
        headers = None
    if headers is not None:
        for name, value in headers.items():
            assert _HEADER_NAME.fullmatch(name), name
            assert not set(value) & {"\n", "\r", "\x00"}, value
    parser = HeaderParser()
    try:
        for line in data.splitlines(keepends=True):
            if parser.feed_line(line):
                break
    except AgiProtocolError:
        return


def agi_reply(data: bytes) -> None:
    """Reply lines as parse_reply() gets them: codes are numbers, result_int() fails cleanly."""
    try:
        lines = [decode_line(raw) for raw in data.split(b"\n")]
        reply = parse_reply(lines)
    except AgiProtocolError:
        return
    assert 0 <= reply.code <= 999
    with contextlib.suppress(AgiProtocolError):
        reply.result_int()


class _MemoryWriter:
    """Enough of asyncio.StreamWriter for AgiSession: remembers what was written."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        return None

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None


async def _channel_verbs(data: bytes) -> None:
    reader = asyncio.StreamReader(limit=16 * 1024)
    reader.feed_data(data)
    reader.feed_eof()
    writer = _MemoryWriter()
    session = AgiSession(reader, cast(asyncio.StreamWriter, writer), {"uniqueid": "fuzz.1"}, command_timeout=1.0)
    channel = AgiChannel(session, margin_s=1.0, max_play_s=1.0)
    try:
        await channel.answer()
        key = await channel.play("ivr/main/sv/welcome", interrupt_keys=DTMF_KEYS)
        assert key == "" or (len(key) == 1 and key in DTMF_KEYS), key
        key = await channel.wait_for_key(0.5)
        assert key == "" or (len(key) == 1 and key in DTMF_KEYS), key
        await channel.set_variable("IVR_RESULT", "queue")
    except (AgiError, CallerHungUp):
        pass  # a hang-up or an AGI error ends the call cleanly; anything else escapes
    finally:
        await session.close()
    for line in bytes(writer.written).split(b"\n")[:-1]:
        assert len(line) < MAX_COMMAND_BYTES


def agi_channel(data: bytes) -> None:
    """Whatever Asterisk (or something pretending to be it) answers, the verbs end in a key, a
    hang-up or an AGI error, and never wait past their timeouts."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(_channel_verbs(data), 5.0))
    finally:
        loop.close()


# --- AMI ------------------------------------------------------------------------------------------

class _Subscriptions:
    """Stands in for AmiClient.on_event/on_reconnect so the bridge's handlers can be called directly."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[Any], None]] = {}

    def on_event(self, name: str, handler: Callable[[Any], None]) -> None:
        self.handlers[name.lower()] = handler

    def on_reconnect(self, callback: object) -> None:
        return None


# Headers the bridge may publish as they are: Asterisk's identifiers of calls, queues and agents, its
# counters and causes. A number-shaped text in ANY other header (CallerIDNum, CallerIDName,
# ConnectedLineNum, Exten, DestCallerIDNum, a variable's value, a header nobody expected...) is
# the caller's business and must not appear in an event, unless an allowed header holds it too.
_PUBLISHABLE = frozenset(name.lower() for name in (
    "Uniqueid", "Queue", "MemberName", "Name", "Interface", "Location", "StateInterface", "PausedReason",
    "Cause-txt", "Target", "CallbackID", "Callback_id", "HoldTime", "RingTime", "TalkTime", "Position",
    "OriginalPosition", "Status", "Penalty", "Wrapuptime", "Wait", "Paused", "InCall"))
_FUZZ_CLOCK = 1_790_000_000.0
# Six digits in a row, or a number as people write it (ivr.privacy's scrubber pattern: "070-123 45 67").
_NUMBER_SHAPED = (re.compile(r"\d{6,}"), re.compile(r"\+?\d[\d -]{5,}\d"))


def _texts(value: Any) -> Iterator[str]:
    """Every text in an event as published, one by one (not its JSON, whose escapes make digits of
    their own: a NUL before "709..." is "\\u0000709...")."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _texts(item)
    else:
        yield str(value)


def _numbers_not_to_publish(frames: list[Any]) -> set[str]:
    """Digit runs of six or more from every header the bridge may not publish, less those an allowed
    header (or the fuzz clock) also holds; a callback stand-in's channel gives only its callback id."""
    secret: set[str] = set()
    allowed = [repr(_FUZZ_CLOCK)]
    for frame in frames:
        for key, value in frame.headers.items():
            values = [str(v) for v in (value if isinstance(value, list) else [value])]
            if key.lower() in _PUBLISHABLE:
                allowed += values
                continue
            if key.lower() == "channel":
                allowed += [m[1] for v in values if (m := _STANDIN_CHANNEL.match(v))]
            secret |= {run for v in values for pattern in _NUMBER_SHAPED for run in pattern.findall(v)}
    return {run for run in secret if not any(run in text for text in allowed)}


def ami_stream(data: bytes) -> None:
    """Bytes from the AMI socket, in the chunks the first byte chooses, through the framer and the
    queue bridge: nothing raises but a too-long frame, and nothing number-shaped from any header the
    bridge may not publish (`_PUBLISHABLE`) comes out in an event."""
    step = data[0] % 64 + 1 if data else 1
    framer = Framer(max_frame_chars=64 * 1024)
    frames = []
    try:
        for start in range(1, len(data), step):
            frames += framer.feed(data[start:start + step])
    except AmiProtocolError:
        pass
    sink = MemorySink()
    bridge = AmiBridge(sink, hasher=NumberHasher(b"fuzz-key-0123456789"), clock=lambda: _FUZZ_CLOCK)
    subscriptions = _Subscriptions()
    bridge.attach(cast(Any, subscriptions))
    messages = [Message(frame.headers, frame.content) for frame in frames]
    for message in messages:
        name = message.get("Event")
        handler = subscriptions.handlers.get(name.lower()) if isinstance(name, str) else None
        if handler is not None:
            handler(message)
    bridge.apply_status(messages)
    published = list(_texts([(event, data) for event, _, data in sink.events]))
    for number in _numbers_not_to_publish(frames):
        assert not any(number in text for text in published), f"caller number {number!r} in an event"


# --- untrusted text: caller ID, DTMF, uniqueid --------------------------------------------------

def untrusted_text(data: bytes) -> None:
    """A caller-controlled value can neither add an AGI command, nor leave a topic level, nor show a
    phone number in a log line."""
    text = data.decode("utf-8", errors="surrogateescape")
    try:
        line = format_command("SET VARIABLE", "IVR_TAG_X", text)
    except ValueError:
        line = None  # too long for one res_agi line: refused, never split
    if line is not None:
        assert line.endswith(b"\n") and line.count(b"\n") == 1 and b"\r" not in line and b"\x00" not in line
        words = split_command(line.decode("utf-8").rstrip("\n"))
        assert words == ["SET", "VARIABLE", "IVR_TAG_X", sanitize_arg(text)], words
    segment = topic_segment(text)
    assert segment and not _UNSAFE_IN_TOPIC.search(segment) and not segment.startswith("$") and len(segment) <= 101
    builder = MessageBuilder("malmo")
    message = builder.build("call_started", None, {"uniqueid": text, "caller": text, "callerid": text})
    levels = message.topic.split("/")
    assert len(levels) == (5 if text else 4), levels
    for level in levels:
        assert level and not _UNSAFE_IN_TOPIC.search(level) and not level.startswith("$"), level
    message.topic.encode("utf-8")  # a topic must be valid UTF-8
    body = json.loads(message.payload)
    assert "caller" not in body["data"] and "callerid" not in body["data"]
    assert not _LONG_DIGITS.search(mask_number(text))
    assert not _LONG_DIGITS.search(scrub_text(text)), "a run of digits survived the log scrubber"


TARGETS: dict[str, Target] = {
    "agi_headers": agi_headers,
    "agi_reply": agi_reply,
    "agi_channel": agi_channel,
    "ami_stream": ami_stream,
    "untrusted_text": untrusted_text,
}

_AMI_SEED = (
    b"\x05Asterisk Call Manager/9.0.0\r\n"
    b"Event: QueueCallerJoin\r\nQueue: kc-school\r\nUniqueid: 1790.5\r\nPosition: 1\r\n"
    b"CallerIDNum: +46701234567\r\nCallerIDName: 070-123 45 67\r\nConnectedLineNum: 0709876543\r\n"
    b"Exten: 4034100\r\n\r\n"
    b"Event: QueueMemberStatus\r\nQueue: kc-school\r\nInterface: Local/2001@agent-sim/n\r\n"
    b"MemberName: Agent 2001\r\nStatus: 1\r\nPaused: 0\r\nInCall: 0\r\n\r\n"
    b"Event: AgentConnect\r\nQueue: kc-school\r\nUniqueid: 1790.5\r\nInterface: Local/2001@agent-sim/n\r\n"
    b"MemberName: Agent 2001\r\nHoldTime: 12\r\n\r\n"
    b"Event: QueueEntry\r\nQueue: kc-general\r\nUniqueid: 1790.7\r\nPosition: 2\r\nWait: 30\r\n"
    b"CallerIDNum: 0701234567\r\n\r\n"
    b"Event: Hangup\r\nUniqueid: 1790.5\r\nCause-txt: Normal Clearing\r\n\r\n"
)
SEEDS: dict[str, list[bytes]] = {
    "agi_headers": [fake_headers("inbound", uniqueid="1790.5", caller="+46701234567", dnid="4034100", port=4573)],
    "agi_reply": [b"200 result=0", b"200 result=1 (sv) endpos=1234", b"520-Invalid\nusage\n520 End of proper usage.",
                  b"HANGUP\n200 result=-1", b"100 result=0 Trying...\n200 result=49 endpos=800"],
    "agi_channel": [b"200 result=0\n200 result=49 endpos=800\n200 result=0\n200 result=1\n",
                    b"200 result=0\n200 result=-1 endpos=0\nHANGUP\n511 Command Not Permitted\n",
                    b"200 result=0\n100 result=0 Trying...\n520-Invalid command syntax.\nx\n520 End.\n"],
    "ami_stream": [_AMI_SEED],
    "untrusted_text": [b"+4670\n200 result=1", b"'; DROP TABLE call_records;--", b"../../etc/passwd",
                       b"+/#", b"\xff\xfe\xfd", b"+46 70-123 45 67", b"9" * 300],
}
