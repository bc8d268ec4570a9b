"""A FastAGI client that behaves like Asterisk running `AGI(agi://host:port/route)` for one call.

It answers each command as Asterisk would; the caller's keys come from a script consumed by the
commands that read keys (an interruptible STREAM FILE takes a key only if `interrupt_plays` is set).
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


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
) -> FakeCallResult:
    """Run one call; `variables` are channel variables the route may GET (e.g. IVR_TEST_NOW)."""
    uid = uniqueid or f"{time.time():.6f}"
    script = deque(keys)
    channel_vars = dict(variables or {})
    result = FakeCallResult()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(agi_headers(route, uniqueid=uid, caller=caller, dnid=dnid, port=port))
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
            reply = _reply(line, script, channel_vars, result, interrupt_plays)
            writer.write(reply.encode() + b"\n")
            await writer.drain()
            result.latencies.append(time.perf_counter() - arrived)
    finally:
        writer.close()
    return result


def _key_reply(script: deque[str]) -> str:
    if not script:
        return "200 result=0"
    key = script.popleft()
    return f"200 result={ord(key)}" if key else "200 result=0"


def _reply(line: str, script: deque[str], channel_vars: dict[str, str], result: FakeCallResult,
           interrupt_plays: bool) -> str:
    try:
        parts = shlex.split(line)
    except ValueError:
        return "520 Invalid command syntax."
    upper = [p.upper() for p in parts[:2]]
    if upper[:1] == ["ANSWER"]:
        return "200 result=0"
    if upper == ["STREAM", "FILE"]:
        escape = parts[3] if len(parts) > 3 else ""
        if interrupt_plays and escape and script and script[0] and script[0] in escape:
            return f"200 result={ord(script.popleft())} endpos=800"
        return "200 result=0 endpos=8000"
    if upper == ["WAIT", "FOR"]:
        return _key_reply(script)
    if upper == ["GET", "DATA"]:
        return _key_reply(script)
    if upper == ["SET", "VARIABLE"] and len(parts) >= 4:
        result.variables[parts[2]] = parts[3]
        channel_vars[parts[2]] = parts[3]
        return "200 result=1"
    if upper == ["GET", "VARIABLE"] and len(parts) >= 3:
        value = channel_vars.get(parts[2])
        return f"200 result=1 ({value})" if value is not None else "200 result=0"
    if upper[:1] == ["HANGUP"]:
        return "200 result=1"
    if upper[:1] == ["EXEC"]:
        return "200 result=0"
    if re.match(r"^(VERBOSE|NOOP)", line.upper()):
        return "200 result=1"
    return "510 Invalid or unknown command"
