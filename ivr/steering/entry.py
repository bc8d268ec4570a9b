"""One steering entry — a temporary message or a switch — and how it travels in Asterisk's AstDB.

The dialplan reads the same AstDB keys as the daemon (asterisk-config/extensions.conf, [ivr-steer-*]),
so the value is a flat `from|until|dir|languages` string both can parse: epoch seconds (until 0 = no
end), the folder of the message's sound files as Asterisk sees it (one `<language>.wav` per language),
and the languages joined with `&`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal

from ivr.dialplan_variables import STEER_FAMILY

# The AstDB family; the keys below it are `<kind>/all` or `<kind>/queue/<the group's queue>`.
FAMILY: Final = STEER_FAMILY
Kind = Literal["message", "switch"]
KINDS: Final[tuple[Kind, ...]] = ("message", "switch")
ALL: Final = "all"

# What the dialplan accepts before a value reaches Playback (no comma, no "..", no spaces).
_DIR: Final = re.compile(r"/[A-Za-z0-9/_-]{1,200}")
_LANGS: Final = re.compile(r"[a-z]{2,3}(&[a-z]{2,3}){0,9}")
_QUEUE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Entry:
    """A message (played before the menu, or before a group's queue) or a switch (the line or a group
    closed: its message, then the call ends). `queue` is None for the whole line."""

    kind: Kind
    queue: str | None
    starts: int  # epoch seconds; 0 for a switch (at once)
    ends: int  # epoch seconds; 0 = until someone clears it
    sound_dir: str
    languages: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.queue is not None and not _QUEUE.fullmatch(self.queue):
            raise ValueError(f"bad queue name {self.queue!r}")
        if not _DIR.fullmatch(self.sound_dir) or ".." in self.sound_dir:
            raise ValueError(f"bad sound folder {self.sound_dir!r}")
        if not self.languages or not _LANGS.fullmatch("&".join(self.languages)):
            raise ValueError(f"bad languages {self.languages!r}")
        if self.starts < 0 or self.ends < 0 or (self.ends and self.ends <= self.starts):
            raise ValueError("the window must end after it starts")

    @property
    def key(self) -> str:
        return key_for(self.kind, self.queue)

    def value(self) -> str:
        return f"{self.starts}|{self.ends}|{self.sound_dir}|{'&'.join(self.languages)}"

    def active_at(self, moment: dt.datetime) -> bool:
        """Inside its window: from `starts` (inclusive) to `ends` (exclusive, 0 = open)."""
        now = moment.timestamp()
        return self.starts <= now and (self.ends == 0 or now < self.ends)

    def sound(self, language: str) -> str:
        """The Asterisk sound to play for a caller in `language` (the first language when it has none)."""
        chosen = language if language in self.languages else self.languages[0]
        return f"{self.sound_dir}/{chosen}"


def key_for(kind: Kind, queue: str | None) -> str:
    return f"{kind}/{ALL}" if queue is None else f"{kind}/queue/{queue}"


def parse_value(kind: Kind, queue: str | None, text: str) -> Entry | None:
    """The entry an AstDB value describes, or None when it is not one (never an exception: a value
    someone typed by hand must not break a call)."""
    parts = text.strip().split("|")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    try:
        return Entry(kind, queue, int(parts[0]), int(parts[1]), parts[2], tuple(parts[3].split("&")))
    except ValueError:
        return None
