"""Short prompts for the real-Asterisk benchmarks: every sound the main menu and the dialplan play, as a
tone (0.2 s in section 2, 2 s in section 5), so that a call's length is the engine's work and not minutes
of speech."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from ivr.config.loader import ConfigSet

RATE = 8000
LENGTH_S = 0.2


def tone(path: Path, seconds: float = LENGTH_S) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / RATE)))
                      for i in range(int(RATE * seconds)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)


def write_short_prompts(config: ConfigSet, dest: Path, seconds: float = LENGTH_S) -> int:
    """Every prompt of every plan in every language, and the dialplan's own sounds, each a tone of
    `seconds`; how many files."""
    written = 0
    for plan in config.plans.values():
        for prompt_id in plan.prompts:
            for language in plan.languages:
                tone(dest / f"{plan.sound(prompt_id, language)}.wav", seconds)
                written += 1
    # The dialplan's and the daemon's own sounds (routing_rules.yaml system_prompts: fallback, the
    # queue's overflow and closed messages, the callback offer [ivr-queue] plays in a busy queue, ...).
    for language in config.rules.languages:
        for name in config.rules.system_prompts:
            tone(dest / "ivr" / language / f"{name}.wav", seconds)
            written += 1
    return written
