"""The AGI wire format, without I/O: reply lines, the `agi_*` header block, argument quoting.

Formats follow Asterisk's res_agi.c: replies are `<code> result=<r> [(data)] [key=value ...]`, a
usage error is a `520-` ... `520 ` block, and `HANGUP` is a bare notice line sent when the channel
hangs up. Commands are split by `parse_args()`: double quotes group, a backslash escapes the next
character, and the line ends at `\\n`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from ivr.agi.errors import AgiProtocolError

HANGUP_LINE: Final = "HANGUP"

MAX_HEADER_LINES: Final = 100
MAX_HEADER_LINE_BYTES: Final = 4 * 1024
MAX_HEADER_BLOCK_BYTES: Final = 32 * 1024
# GET VARIABLE replies carry the value, so replies get more room than headers.
MAX_REPLY_LINE_BYTES: Final = 16 * 1024
MAX_BLOCK_LINES: Final = 200
# res_agi reads a command with fgets() into a 2048-byte buffer: a longer line is split and the
# rest runs as a second command. 2047 bytes includes the newline.
MAX_COMMAND_BYTES: Final = 2047
# res_agi's MAX_ARGS is 128 including the terminating NULL; beyond that it truncates silently.
MAX_COMMAND_WORDS: Final = 127

_STATUS_LINE = re.compile(r"(\d{3})([ -])(.*)", re.DOTALL)
_RESULT = re.compile(r"result=(\S*)(.*)", re.DOTALL)
_KEY_VALUE = re.compile(r'\s*([A-Za-z0-9_]+)=("[^"]*"|[^\s"]*)')
_HEADER_LINE = re.compile(r"agi_([A-Za-z0-9_]+): ?(.*)", re.DOTALL)
_COMMAND_NAME = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
# Control characters other than tab never occur in real headers; they mark binary junk.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Arguments that quote_arg() would only wrap in quotes (no backslash, quote, line break, NUL or surrogate).
_PLAIN_ARG = re.compile(r"[A-Za-z0-9_/.*#()+:,=@ -]*")


@dataclass(frozen=True)
class AgiReply:
    """One reply to one command.

    `data` is the text in parentheses for 200 replies (`(timeout)`, a GET VARIABLE value), the
    message for error codes (`Invalid or unknown command`) and the usage text of a 520 block.
    `hangup` is true when a `HANGUP` notice came before the reply.
    """

    code: int
    result: str
    data: str | None = None
    extras: dict[str, str] = field(default_factory=dict)
    hangup: bool = False

    def result_int(self) -> int:
        """`result` as an integer; garbage is a protocol error, never a ValueError."""
        try:
            return int(self.result)
        except ValueError:
            raise AgiProtocolError(f"non-numeric result {self.result!r} (code {self.code})") from None


def decode_line(raw: bytes, *, limit: int = MAX_REPLY_LINE_BYTES) -> str:
    """One raw line (with or without its `\\n`/`\\r\\n`) as text; junk is a protocol error."""
    if len(raw) > limit:
        raise AgiProtocolError(f"line of {len(raw)} bytes exceeds {limit}")
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    # Asterisk passes caller names from trunks through as raw bytes (often Latin-1); replacing
    # them keeps the call, while junk still fails the structural checks.
    text = raw.decode("utf-8", errors="replace")
    if "\x00" in text or "\n" in text or "\r" in text:
        raise AgiProtocolError("control character inside a line")
    return text


def starts_block(line: str) -> bool:
    """True for the first line of a multi-line reply (`520-Invalid command syntax...`)."""
    return len(line) >= 4 and line[:3].isdigit() and line[3] == "-"


def ends_block(first: str, line: str) -> bool:
    """True for the line that closes the block opened by `first` (`520 End of proper usage.`)."""
    return line.startswith(first[:3] + " ")


def parse_reply(lines: Sequence[str]) -> AgiReply:
    """Parse the lines of one reply: a single status line or a complete `NNN-` ... `NNN ` block.

    `HANGUP` notices before the reply are skipped and reported as `hangup=True`.
    """
    if len(lines) == 1 and (fast := _parse_plain_success(lines[0])) is not None:
        return fast
    index = 0
    while index < len(lines) and lines[index] == HANGUP_LINE:
        index += 1
    hangup = index > 0
    body = list(lines[index:])
    if not body:
        raise AgiProtocolError("no reply line" + (" after HANGUP" if hangup else ""))
    match = _STATUS_LINE.fullmatch(body[0])
    if match is None:
        raise AgiProtocolError(f"not an AGI reply: {_preview(body[0])}")
    code, separator, rest = int(match[1]), match[2], match[3]
    if separator == "-":
        return _parse_block(code, body, hangup=hangup)
    if len(body) != 1:
        raise AgiProtocolError("extra lines after a single-line reply")
    if code in (100, 200):
        result, data, extras = _parse_result(rest, code)
        return AgiReply(code, result, data, extras, hangup)
    return AgiReply(code, "", rest or None, {}, hangup)


def _parse_plain_success(line: str) -> AgiReply | None:
    """Most replies are `200 result=<digits>`, maybe with `endpos=<digits>`: those without a regex.
    None for anything else, which the general parser then takes (same result, just slower)."""
    if not line.startswith("200 result="):
        return None
    result, _, tail = line[11:].partition(" ")
    if not result.isdigit() or not result.isascii():
        return None
    if not tail:
        return AgiReply(200, result)
    key, equals, value = tail.partition("=")
    if key != "endpos" or not equals or not value.isdigit() or not value.isascii():
        return None
    return AgiReply(200, result, None, {"endpos": value})


def _parse_block(code: int, body: list[str], *, hangup: bool) -> AgiReply:
    if len(body) < 2 or not ends_block(body[0], body[-1]):
        raise AgiProtocolError(f"unterminated {code}- block")
    if len(body) > MAX_BLOCK_LINES:
        raise AgiProtocolError(f"{code}- block longer than {MAX_BLOCK_LINES} lines")
    inner = body[1:-1]
    if any(ends_block(body[0], line) for line in inner):
        raise AgiProtocolError(f"{code}- block closed twice")
    return AgiReply(code, "", "\n".join(inner), {}, hangup)


def _parse_result(rest: str, code: int) -> tuple[str, str | None, dict[str, str]]:
    match = _RESULT.fullmatch(rest)
    if match is None:
        raise AgiProtocolError(f"{code} reply without result=: {_preview(rest)}")
    result, tail = match[1], match[2].lstrip()
    if code == 100:  # "100 result=0 Trying..." is provisional; its text is free-form
        return result, tail or None, {}
    if not tail.startswith("("):
        return result, None, _parse_extras(tail)
    # The data may itself contain ")" (a GET VARIABLE value); take the last ")" that leaves only
    # key=value pairs after it.
    close = len(tail)
    while (close := tail.rfind(")", 0, close)) > 0:
        after = tail[close + 1 :]
        if after == "" or after[0].isspace():
            try:
                return result, tail[1:close], _parse_extras(after)
            except AgiProtocolError:
                pass
    raise AgiProtocolError(f"unbalanced parenthesis in reply: {_preview(rest)}")


def _parse_extras(text: str) -> dict[str, str]:
    extras: dict[str, str] = {}
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _KEY_VALUE.match(text, position)
        if match is None or match.end() == position:
            raise AgiProtocolError(f"expected key=value in reply: {_preview(text[position:])}")
        value = match[2]
        extras[match[1]] = value[1:-1] if value.startswith('"') else value
        position = match.end()
        if position < len(text) and not text[position].isspace():
            raise AgiProtocolError(f"expected key=value in reply: {_preview(text[position:])}")
    return extras


class HeaderParser:
    """Reads the `agi_name: value` block line by line, with hard limits against junk and floods."""

    def __init__(self) -> None:
        self._headers: dict[str, str] = {}
        self._lines = 0
        self._bytes = 0
        self.done = False

    @property
    def headers(self) -> dict[str, str]:
        """Names without the `agi_` prefix (`request`, `uniqueid`, `arg_1`, ...)."""
        return dict(self._headers)

    def feed_line(self, raw: bytes) -> bool:
        """Take one raw line; True once the blank line ending the block has been seen."""
        if self.done:
            raise AgiProtocolError("data after the end of the header block")
        self._lines += 1
        self._bytes += len(raw)
        if self._lines > MAX_HEADER_LINES + 1:
            raise AgiProtocolError(f"more than {MAX_HEADER_LINES} header lines")
        if self._bytes > MAX_HEADER_BLOCK_BYTES:
            raise AgiProtocolError(f"header block exceeds {MAX_HEADER_BLOCK_BYTES} bytes")
        line = decode_line(raw, limit=MAX_HEADER_LINE_BYTES)
        if line == "":
            if not self._headers:
                raise AgiProtocolError("empty header block")
            self.done = True
            return True
        match = _HEADER_LINE.fullmatch(line)
        if match is None or _CONTROL.search(line):
            raise AgiProtocolError(f"not an agi_ header: {_preview(line)}")
        name = match[1]
        if name in self._headers:
            raise AgiProtocolError(f"duplicate header agi_{name}")
        self._headers[name] = match[2]
        return False


def parse_headers(block: bytes) -> dict[str, str]:
    """Parse a complete header block (ending with the blank line); anything else is an error."""
    parser = HeaderParser()
    lines = block.splitlines(keepends=True)
    for number, raw in enumerate(lines):
        if parser.feed_line(raw) and number != len(lines) - 1:
            raise AgiProtocolError("data after the end of the header block")
    if not parser.done:
        raise AgiProtocolError("header block not terminated by a blank line")
    return parser.headers


def sanitize_arg(text: str) -> str:
    """What of `text` can travel in one AGI argument: no CR, LF or NUL, valid UTF-8."""
    cleaned = text.replace("\r", "").replace("\n", "").replace("\x00", "")
    return _SURROGATE.sub("\ufffd", cleaned)


def _quote_plain(text: str) -> str:
    # Names, sound files, digits and keys need no escaping: skip the general path's passes over the text.
    if _PLAIN_ARG.fullmatch(text):
        return f'"{text}"'
    return quote_arg(text)


def quote_arg(text: str) -> str:
    """Quote untrusted text as one AGI argument.

    Line breaks and NUL are dropped (they would end or truncate the command); `\\` and `"` are
    backslash-escaped, which parse_args() turns back into the literal character.
    """
    escaped = sanitize_arg(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_command(name: str, *args: str) -> bytes:
    """One command line, newline included: `name` as is (words of letters), each argument quoted."""
    if not _COMMAND_NAME.fullmatch(name):
        raise ValueError(f"bad AGI command name {name!r}")
    if len(name.split()) + len(args) > MAX_COMMAND_WORDS:
        raise ValueError(f"more than {MAX_COMMAND_WORDS} words in an AGI command")
    line = " ".join([name, *(_quote_plain(arg) for arg in args)]).encode("utf-8") + b"\n"
    if len(line) > MAX_COMMAND_BYTES:
        raise ValueError(f"AGI command of {len(line)} bytes exceeds {MAX_COMMAND_BYTES}")
    return line


def _preview(text: str) -> str:
    """A short, printable excerpt for error messages (never a whole caller-controlled line)."""
    return repr(text[:40])
