"""A call channel on a terminal: prompts are printed (and optionally played), the admin types the keys.

Used by `ivr call`. One typed line answers one wait for a key; several keys on a line are used one by one
(like a caller typing ahead), an empty line is silence (the node's timeout), `q` hangs up.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ivr.channel import DTMF_KEYS, CallerHungUp
from ivr.config.plan import Plan

HANG_UP = "q"


@dataclass
class TerminalChannel:
    plan: Plan
    read_line: Callable[[], str]  # returns "" at end of input, like TextIO.readline
    out: TextIO
    sounds_dir: Path | None = None  # rendered prompts (build/prompts); None: print only
    player: str | None = None  # the command that plays a WAV file (aplay, play)
    language: str = ""
    echo: bool = False  # write typed lines back (when the input is a pipe, not a terminal that echoes)
    _typed: str = field(default="", init=False)
    _noted_missing: bool = field(default=False, init=False)

    async def answer(self) -> None:
        self.out.write(f"call answered by plan '{self.plan.name}'. Type keys and Enter; an empty line is "
                       f"silence; {HANG_UP} hangs up.\n")

    async def play(self, sound: str, *, interrupt_keys: str) -> str:
        found = self.plan.prompt_for_sound(sound)
        if found:
            prompt_id, language = found
            text = self.plan.text(prompt_id, language) or "(recording)"
            self.out.write(f"  ♪ [{language}] {prompt_id}: {text}\n")
        else:
            self.out.write(f"  ♪ {sound}\n")
        self.out.flush()
        await self._play_audio(sound)
        return ""  # prompts play to the end; the admin answers when asked for a key

    async def wait_for_key(self, timeout_s: float) -> str:
        if not self._typed:
            self.out.write(f"  keys (wait {timeout_s:g} s)> ")
            self.out.flush()
            line = self.read_line()
            if self.echo and line:
                self.out.write(line if line.endswith("\n") else line + "\n")
            if not line or line.strip().lower() == HANG_UP:
                self.out.write("\n  (you hung up)\n" if not line else "  (you hung up)\n")
                raise CallerHungUp()
            self._typed = "".join(key for key in line.strip() if key in DTMF_KEYS)
            if not self._typed:
                self.out.write("  (silence)\n")
                return ""
        key, self._typed = self._typed[0], self._typed[1:]
        return key

    async def set_variable(self, name: str, value: str) -> None:
        self.out.write(f"  set {name}={value}\n")

    async def set_language(self, language: str) -> None:
        if language != self.language:
            self.out.write(f"  language: {language}\n")
        self.language = language

    async def hangup(self) -> None:
        self.out.write("  (hung up)\n")

    async def _play_audio(self, sound: str) -> None:
        if self.sounds_dir is None or self.player is None:
            return
        wav = self.sounds_dir / f"{sound}.wav"
        if not wav.is_file():
            if not self._noted_missing:
                self.out.write(f"  (no audio in {self.sounds_dir}: run `ivr prompts build`)\n")
                self._noted_missing = True
            return
        process = await asyncio.create_subprocess_exec(self.player, "-q", str(wav), stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.DEVNULL)
        await process.wait()


def find_player() -> str | None:
    """aplay (ALSA) when installed, else sox's `play` when there is a sound device or server to play on."""
    if shutil.which("aplay"):
        return "aplay"
    has_device = Path("/dev/snd").is_dir() or bool(os.environ.get("PULSE_SERVER"))
    return "play" if has_device and shutil.which("play") else None
