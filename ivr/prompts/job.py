"""One sound to render (text spoken by espeak-ng) or convert (a recording), and its fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

# espeak-ng voice per language code; unknown codes fall back to the code itself.
VOICES = {"sv": "sv", "en": "en-gb", "ar": "ar", "fi": "fi", "bs": "bs", "pl": "pl", "fa": "fa", "so": "so"}
RENDERER_VERSION = "espeak-ng+sox/1"


@dataclass(frozen=True)
class PromptJob:
    sound: str  # Asterisk sound name under sounds/, e.g. ivr/main/sv/welcome
    language: str
    text: str
    recording: Path | None = None  # an audio file to convert instead of speaking `text`

    @property
    def fingerprint(self) -> str:
        if self.recording is not None:
            if not self.recording.is_file():
                raise FileNotFoundError(f"recording {self.recording} for {self.sound} does not exist")
            content = hashlib.sha256(self.recording.read_bytes()).hexdigest()
            return hashlib.sha256(f"{RENDERER_VERSION}\0recording\0{content}".encode()).hexdigest()
        voice = VOICES.get(self.language, self.language)
        return hashlib.sha256(f"{RENDERER_VERSION}\0{voice}\0{self.text}".encode()).hexdigest()
