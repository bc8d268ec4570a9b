"""Asterisk's side of FastAGI, faked on the wire: the tests use it for one call, the benchmarks for thousands.

`FakeChannel` answers each command line as Asterisk's res_agi would; the caller's keys come from a
script consumed by the commands that read keys (an interruptible STREAM FILE takes a key only if
`interrupt_plays` is set). `fake_call` runs one whole call against a FastAGI server.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

# `${...}` in GET FULL VARIABLE (no nesting).
_EXPRESSION = re.compile(r"\$\{([^{}]*)\}")

# What Asterisk does while it executes a command: return at once, play a sound, or wait for a key.
Wait = Literal["", "play", "key"]


@dataclass(frozen=True)
class FakeReply:
    text: str
    wait: Wait = ""


@dataclass
class FakeCallResult:
    variables: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds from a command's arrival to our reply
    closed_by_server: bool = False


def agi_headers(route: str, *, uniqueid: str, caller: str, dnid: str, port: int,
                extra: dict[str, str] | None = None) -> bytes:
    headers = {
        "agi_network": "yes",
        "agi_network_script": route,
        "agi_request": f"agi://127.0.0.1:{port}/{route}",
        "agi_channel": f"Local/s@caller-sim-{uniqueid};1",
        "agi_language": "sv",
        "agi_type": "Local",
        "agi_uniqueid": uniqueid,
        "agi_version": "22.0.0",
        "agi_callerid": caller,
        "agi_calleridname": "unknown",
        "agi_callingpres": "0",
        "agi_dnid": dnid,
        "agi_context": "main-number",
        "agi_extension": dnid,
        "agi_priority": "2",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "140000000000",
    }
    headers.update(extra or {})
    return "".join(f"{k}: {v}\n" for k, v in headers.items()).encode() + b"\n"


def split_command(line: str) -> list[str]:
    """Split a command line as res_agi's parse_args() does: double quotes group words, a backslash
    takes the next character literally, and quotes themselves are dropped."""
    if "\\" not in line:
        if '"' not in line:
            return line.split()
        # Fast path for what our daemon sends (`NAME "arg" "arg"`): every other piece is a quoted word.
        pieces = line.split('"')
        head, gaps, tail = pieces[0], pieces[2:-1:2], pieces[-1]
        if (len(pieces) % 2 == 1 and (not head or head[-1].isspace()) and all(gap.isspace() for gap in gaps)
                and not tail.strip()):
            return head.split() + pieces[1::2]
    words: list[str] = []
    current: list[str] = []
    quoted = escaped = in_word = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = in_word = True
        elif char == '"':
            quoted = not quoted
            in_word = True
        elif char in " \t" and not quoted:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
    if quoted:
        raise ValueError("unterminated quote")
    if in_word:
        words.append("".join(current))
    return words


class FakeChannel:
    """One channel's answers. `variables` are channel variables the route may GET (IVR_TEST_NOW);
    `set_by_route` records every SET VARIABLE, in order, as the dialplan would see it."""

    __slots__ = ("astdb", "interrupt_plays", "keys", "set_by_route", "variables")

    def __init__(self, keys: Iterable[str] = (), *, variables: dict[str, str] | None = None,
                 interrupt_plays: bool = False, astdb: dict[str, str] | None = None) -> None:
        self.keys = deque(keys)
        self.variables = dict(variables or {})
        self.set_by_route: dict[str, str] = {}
        self.interrupt_plays = interrupt_plays
        # Asterisk's AstDB as "family/key" -> value: the route's DATABASE GET/PUT/DEL act on it (shared
        # with the caller, who sees what the route wrote).
        self.astdb = astdb if astdb is not None else {}

    def answer(self, line: str) -> FakeReply:
        try:
            parts = split_command(line)
        except ValueError:
            return FakeReply("520 Invalid command syntax.")
        verb = " ".join(parts[:2]).upper()
        if verb.startswith("ANSWER"):
            return FakeReply("200 result=0")
        if verb == "STREAM FILE":
            escape = parts[3] if len(parts) > 3 else ""
            if self.interrupt_plays and escape and self.keys and self.keys[0] and self.keys[0] in escape:
                return FakeReply(f"200 result={ord(self.keys.popleft())} endpos=800", "play")
            return FakeReply("200 result=0 endpos=8000", "play")
        if verb in ("WAIT FOR", "GET DATA"):
            return FakeReply(self._key_reply(), "key")
        if verb == "SET VARIABLE" and len(parts) >= 4:
            self.set_by_route[parts[2]] = parts[3]
            self.variables[parts[2]] = parts[3]
            return FakeReply("200 result=1")
        if verb == "GET VARIABLE" and len(parts) >= 3:
            value = self.variables.get(parts[2])
            return FakeReply(f"200 result=1 ({value})" if value is not None else "200 result=0")
        if verb == "GET FULL" and len(parts) >= 4 and parts[2].upper() == "VARIABLE":
            return FakeReply(f"200 result=1 ({self._expand(parts[3])})")
        if verb in ("DATABASE GET", "DATABASE PUT", "DATABASE DEL") and len(parts) >= 4:
            key = f"{parts[2]}/{parts[3]}"
            if verb == "DATABASE PUT" and len(parts) >= 5:
                self.astdb[key] = parts[4]
                return FakeReply("200 result=1")
            if verb == "DATABASE DEL":
                return FakeReply("200 result=1" if self.astdb.pop(key, None) is not None else "200 result=0")
            value = self.astdb.get(key)
            return FakeReply(f"200 result=1 ({value})" if value is not None else "200 result=0")
        if verb.startswith(("HANGUP", "VERBOSE", "NOOP")):
            return FakeReply("200 result=1")
        if verb.startswith("EXEC"):
            return FakeReply("200 result=0")
        if verb == "CHANNEL STATUS":
            return FakeReply("200 result=6")  # AST_STATE_UP
        return FakeReply("510 Invalid or unknown command")

    def _expand(self, expression: str) -> str:
        """What Asterisk makes of `${DB_KEYS(prefix)}` (the next level of keys below the prefix, joined
        by commas, in order) and `${NAME}`; no other functions."""
        def substitute(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("DB_KEYS(") and inner.endswith(")"):
                prefix = inner[len("DB_KEYS("):-1].strip("/") + "/"
                below = {key[len(prefix):].split("/")[0] for key in self.astdb if key.startswith(prefix)}
                return ",".join(sorted(below))
            return self.variables.get(inner, "")
        return _EXPRESSION.sub(substitute, expression)

    def _key_reply(self) -> str:
        key = self.keys.popleft() if self.keys else ""
        return f"200 result={ord(key)}" if key else "200 result=0"


async def fake_call(
    port: int,
    *,
    route: str = "inbound",
    keys: Iterable[str] = (),
    caller: str = "+46701234567",
    dnid: str = "4034100",
    uniqueid: str | None = None,
    variables: dict[str, str] | None = None,
    interrupt_plays: bool = False,
    host: str = "127.0.0.1",
    extra_headers: dict[str, str] | None = None,
    astdb: dict[str, str] | None = None,
) -> FakeCallResult:
    """Run one call; `variables` are channel variables the route may GET (e.g. IVR_TEST_NOW);
    `extra_headers` adds or replaces `agi_*` headers (e.g. `agi_arg_1`); `astdb` is Asterisk's AstDB
    ("family/key" -> value), changed in place by the route."""
    uid = uniqueid or f"{time.time():.6f}"
    channel = FakeChannel(keys, variables=variables, interrupt_plays=interrupt_plays, astdb=astdb)
    result = FakeCallResult(variables=channel.set_by_route)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(agi_headers(route, uniqueid=uid, caller=caller, dnid=dnid, port=port, extra=extra_headers))
    await writer.drain()
    try:
        while True:
            raw = await reader.readline()
            if not raw:
                result.closed_by_server = True
                break
            arrived = time.perf_counter()
            line = raw.decode().rstrip("\n")
            result.commands.append(line)
            writer.write(channel.answer(line).text.encode() + b"\n")
            await writer.drain()
            result.latencies.append(time.perf_counter() - arrived)
    finally:
        writer.close()
    return result
