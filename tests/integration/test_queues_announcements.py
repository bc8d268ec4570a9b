"""What a waiting caller hears, on the real Asterisk: app_queue's position announcement in the
caller's language - our rendered Swedish and Arabic sounds (ivr/prompts/queue_sounds.py, `ivr prompts
build`), Asterisk's own English ones - found in a recording of the caller's line."""

from __future__ import annotations

import asyncio
import re
import uuid
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from harness.ami import AmiClient, SimCall
from harness.sandbox import Sandbox

from ivr.prompts.queue_sounds import queue_sound_jobs
from ivr.prompts.render import render_one

pytestmark = pytest.mark.asterisk_only

BUILDING_STANDINS = ("4001", "4002")


@pytest.fixture
def queue_sounds(asterisk: Sandbox) -> Path:
    """The rendered sv/ar sounds in the sandbox (`asterisk-sandbox start` copies build/prompts; a
    checkout without a build gets them rendered here)."""
    sounds = asterisk.root / "usr" / "share" / "asterisk" / "sounds"
    for job in queue_sound_jobs(("sv", "ar")):
        target = sounds / f"{job.sound}.wav"
        if not target.exists():
            render_one(job, target)
    return sounds


@pytest.fixture
async def building_agents_paused(ami: AmiClient) -> AsyncIterator[None]:
    for ext in BUILDING_STANDINS:
        await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Queue="kc-building", Paused="true")
    yield
    for ext in BUILDING_STANDINS:
        await ami.action("QueuePause", Interface=f"Local/{ext}@agent-sim/n", Queue="kc-building", Paused="false")


async def waiting(ami: AmiClient, language: str, caller_id: str) -> SimCall:
    call = await ami.originate_caller(context="ivr-queue", exten="s", dtmf="", hold=60, caller_id=caller_id,
                                      variables={"IVR_QUEUE": "kc-building", "IVR_LANG": language})
    await call.wait_event(15, Event="QueueCallerJoin", Queue="kc-building")
    return call


def samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float64)


def found_in(recording: np.ndarray, sound: np.ndarray) -> float:
    """The best normalised correlation of `sound` against any stretch of `recording` (1.0 = the
    same samples)."""
    n = len(sound)
    if len(recording) < n:
        return 0.0
    corr = np.correlate(recording, sound, mode="valid")
    window = np.sqrt(np.convolve(recording**2, np.ones(n), mode="valid"))
    score = corr / (window * np.linalg.norm(sound) + 1e-9)
    return float(score.max())


@pytest.mark.usefixtures("building_agents_paused")
async def test_position_is_announced_in_the_callers_language(
        ami: AmiClient, asterisk: Sandbox, queue_sounds: Path) -> None:
    log = asterisk.root / "var" / "log" / "asterisk" / "full"
    start = log.stat().st_size
    first = await waiting(ami, "sv", "+46701114400")
    # Recorded from its first frame ([recorded-caller] in the sandbox overlay starts MixMonitor before
    # the queue), and only what is sent to the caller: the caller stand-in sends no audio, and
    # MixMonitor's mix of a silent direction with a busy one comes out garbled on a loaded machine.
    token = uuid.uuid4().hex[:12]
    recording = f"/tmp/ivr-announce-{token}-to-caller.wav"
    swedish = await ami.originate_caller(context="recorded-caller", exten="s", dtmf="", hold=60,
                                         caller_id="+46701114401",
                                         variables={"IVR_QUEUE": "kc-building", "IVR_LANG": "sv",
                                                    "SIM_NEXT_CONTEXT": "ivr-queue", "SIM_RECORD_TO_CALLER": recording,
                                                    "SIM_RECORD": f"/tmp/ivr-announce-{token}.wav"})
    await swedish.wait_event(15, Event="QueueCallerJoin", Queue="kc-building")
    arabic = await waiting(ami, "ar", "+46701114402")
    english = await waiting(ami, "en", "+46701114403")
    await asyncio.sleep(9)  # the first announcement comes at once and takes a few seconds
    await ami.action("StopMixMonitor", Channel=swedish.channel)
    played = log.read_text(encoding="utf-8", errors="replace")[start:]
    for call in (first, swedish, arabic, english):
        await call.hangup()

    def heard(call: SimCall) -> list[str]:
        name = re.escape(call.channel or "?")
        return re.findall(rf"<{name}> Playing '([^']+)' \(language '(\w+)'\)", played)

    # Position 2 in Swedish, 3 in Arabic: our rendered sounds (slin); 4 in English: Asterisk's (gsm).
    assert ("queue-thereare.slin", "sv") in heard(swedish) and ("digits/2.slin", "sv") in heard(swedish)
    assert ("queue-callswaiting.slin", "sv") in heard(swedish)
    assert ("queue-thereare.slin", "ar") in heard(arabic) and ("digits/3.slin", "ar") in heard(arabic)
    assert ("queue-thereare.gsm", "en") in heard(english) and ("digits/4.gsm", "en") in heard(english)
    assert ("queue-youarenext.slin", "sv") in heard(first)

    # And it is really on the line: the rendered "Du är nummer" and "två" are in the recording.
    audio = samples(asterisk.root / recording.lstrip("/"))
    assert found_in(audio, samples(queue_sounds / "sv" / "queue-thereare.wav")) > 0.9
    assert found_in(audio, samples(queue_sounds / "sv" / "digits" / "2.wav")) > 0.9
    assert found_in(audio, samples(queue_sounds / "ar" / "queue-thereare.wav")) < 0.5  # not someone else's
