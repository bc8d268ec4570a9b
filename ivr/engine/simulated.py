"""An in-memory channel that plays a scripted caller: used by `ivr simulate` and unit tests."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.channel import CallerHungUp

TIMEOUT = ""  # a script entry meaning "the caller stays silent"
HANGUP = "hangup"


def parse_keys(text: str) -> list[str]:
    """`2,1` → two answers; `,` alone or an empty entry is silence; `1234#` types several keys at once;
    `hangup` hangs up."""
    if not text:
        return []
    script: list[str] = []
    for entry in text.split(","):
        entry = entry.strip()
        if entry.lower() in (HANGUP, "h"):
            script.append(HANGUP)
        elif not entry or entry.lower() in ("t", "timeout", "-"):
            script.append(TIMEOUT)
        else:
            script.extend(entry)
    return script


@dataclass
class ScriptedChannel:
    """Each key in the script answers the next wait for a key; the caller listens to prompts in full
    (they never interrupt), so a script reads like the caller's choices in order."""

    script: Iterable[str] = ()
    played: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    answered: bool = False
    hung_up: bool = False
    _keys: deque[str] = field(init=False)

    def __post_init__(self) -> None:
        self._keys = deque(self.script)

    def _check(self) -> None:
        if self.hung_up:
            raise CallerHungUp()

    async def answer(self) -> None:
        self._check()
        self.answered = True

    async def play(self, sound: str, *, interrupt_keys: str) -> str:
        self._check()
        self.played.append(sound)
        return ""

    async def wait_for_key(self, timeout_s: float) -> str:
        self._check()
        if not self._keys:
            return ""
        key = self._keys.popleft()
        if key == HANGUP:
            self.hung_up = True
            raise CallerHungUp()
        return key

    async def set_variable(self, name: str, value: str) -> None:
        self._check()
        self.variables[name] = value

    async def set_language(self, language: str) -> None:
        self._check()
        self.variables["CHANNEL(language)"] = language

    async def hangup(self) -> None:
        self.hung_up = True

    @property
    def unused_keys(self) -> list[str]:
        return list(self._keys)
