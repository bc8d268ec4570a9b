"""AMI framing without I/O: bytes to `Key: Value` frames, and actions to bytes.

A frame is `Key: Value` lines ended by a blank line. Asterisk uses CRLF, but lone LF is accepted.
The byte stream is decoded with one incremental decoder for the whole connection, so a UTF-8
character split across two TCP reads stays whole (panoramisk decodes each read alone and drops it).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ivr.ami.errors import AmiProtocolError

BANNER_PREFIX: Final = "Asterisk Call Manager/"
# One `core show channels` Output frame can be large; a frame beyond this is junk or an attack.
MAX_FRAME_CHARS: Final = 4 * 1024 * 1024
_ACTION_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
_FORBIDDEN_IN_VALUE: Final = re.compile(r"[\r\n\x00]")

HeaderValue = str | list[str]


@dataclass(frozen=True)
class Frame:
    """One AMI message. A header repeated in the frame (`Output`, `ChanVariable`) becomes a list;
    lines that are not `Key: Value` are kept, in order, in `content`."""

    headers: dict[str, HeaderValue]
    content: str = ""


def parse_frame(lines: Sequence[str]) -> Frame:
    """The lines of one frame (without the blank line) as headers and content."""
    headers: dict[str, HeaderValue] = {}
    content: list[str] = []
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep or key.split() != [key]:  # no key, or whitespace in it (split() is C-fast)
            content.append(line)
            continue
        value = value[1:] if value.startswith(" ") else value
        previous = headers.get(key)
        if previous is None:
            headers[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            headers[key] = [previous, value]
    return Frame(headers, "\n".join(content))


class Framer:
    """Feed raw bytes as they arrive; get back the complete frames."""

    def __init__(self, *, max_frame_chars: int = MAX_FRAME_CHARS) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._lines: list[str] = []
        self._frame_chars = 0
        self._max_frame_chars = max_frame_chars
        self._first_line = True
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[Frame]:
        text = self._partial + self._decoder.decode(data)
        *complete, self._partial = text.split("\n")
        frames: list[Frame] = []
        for raw in complete:
            line = raw[:-1] if raw.endswith("\r") else raw
            if self._first_line:
                self._first_line = False
                if line.startswith(BANNER_PREFIX):  # the greeting has no blank line after it
                    self.banner = line[len(BANNER_PREFIX) :]
                    continue
            if line == "":
                if self._lines:
                    frames.append(parse_frame(self._lines))
                    self._lines = []
                    self._frame_chars = 0
                continue
            self._lines.append(line)
            self._frame_chars += len(line)
            self._check_size()
        self._check_size(len(self._partial))
        return frames

    def _check_size(self, pending: int = 0) -> None:
        if self._frame_chars + pending > self._max_frame_chars:
            raise AmiProtocolError(f"AMI frame longer than {self._max_frame_chars} characters")


def encode_action(fields: Mapping[str, str | Sequence[str]]) -> bytes:
    """`Key: Value\\r\\n` lines and the closing blank line; a list value repeats its key.

    CR, LF or NUL in a value would end the header and let the rest be read as new headers (or a
    new action), so they are refused rather than sent.
    """
    lines: list[str] = []
    for key, value in fields.items():
        if not _ACTION_KEY.fullmatch(key):
            raise ValueError(f"bad AMI header name {key!r}")
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            if not isinstance(item, str):
                raise TypeError(f"AMI header {key} must be text, got {type(item).__name__}")
            if _FORBIDDEN_IN_VALUE.search(item):
                raise ValueError(f"AMI header {key} contains a line break or NUL")
            lines.append(f"{key}: {item}\r\n")
    if not lines:
        raise ValueError("empty AMI action")
    return ("".join(lines) + "\r\n").encode("utf-8")
