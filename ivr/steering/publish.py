"""Turning a checked request into what calls obey: the sound files where Asterisk reads them, and the
AstDB key (AMI DBPut/DBDel) that the daemon and the dialplan both read."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from ivr.ami.port import AmiPort
from ivr.config.loader import ConfigSet
from ivr.prompts.job import PromptJob
from ivr.prompts.render import render_one
from ivr.steering.entry import FAMILY, Entry
from ivr.steering.spec import Spec


class SteeringError(Exception):
    """Asterisk refused or could not be asked: nothing changed for callers."""


@dataclass(frozen=True)
class SoundPlace:
    """Where steering sounds live as Asterisk sees them (`asterisk_dir`), and where Asterisk's file system
    is as seen from here (`local_root`: "/" on the Asterisk host itself, the chroot in the sandbox)."""

    asterisk_dir: str
    local_root: Path

    def local(self, asterisk_path: str) -> Path:
        return self.local_root / asterisk_path.lstrip("/")


def new_sound_dir(place: SoundPlace, spec: Spec, now: dt.datetime) -> str:
    """A fresh folder per request, so that a call never hears half of an old message and half a new one."""
    scope = spec.group or "all"
    return f"{place.asterisk_dir.rstrip('/')}/{spec.kind}-{scope}-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def render_sounds(spec: Spec, place: SoundPlace, sound_dir: str) -> None:
    """espeak-ng for the texts, sox for the recordings: 8 kHz mono WAV, `<language>.wav` (ivr.prompts)."""
    folder = place.local(sound_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for language in spec.languages:
        job = PromptJob(f"{sound_dir}/{language}", language, spec.texts.get(language, ""),
                        spec.recordings.get(language))
        render_one(job, folder / f"{language}.wav")


def entry_for(spec: Spec, config: ConfigSet, sound_dir: str) -> Entry:
    queue = config.groups[spec.group].queue if spec.group else None
    starts = int(spec.starts.timestamp()) if spec.starts else 0
    ends = int(spec.ends.timestamp()) if spec.ends else 0
    return Entry(spec.kind, queue, starts, ends, sound_dir, spec.languages)


async def publish(ami: AmiPort, entry: Entry) -> None:
    reply = await ami.action({"Action": "DBPut", "Family": FAMILY, "Key": entry.key, "Val": entry.value()})
    if not reply.ok:
        raise SteeringError(f"Asterisk refused DBPut {FAMILY}/{entry.key}: {reply.message}")


async def withdraw(ami: AmiPort, key: str) -> bool:
    """Delete the key; False when it was not there."""
    reply = await ami.action({"Action": "DBDel", "Family": FAMILY, "Key": key})
    if reply.ok:
        return True
    message = reply.message
    if "not found" in message.lower():
        return False
    raise SteeringError(f"Asterisk refused DBDel {FAMILY}/{key}: {message}")
