"""Render prompt text to 8 kHz mono WAV, and convert recordings given as audio files to the same format;
only what changed since the last build (text, voice or the recording's bytes) is redone."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ivr.config.loader import RULES_FILE, ConfigSet
from ivr.config.model import Prompt
from ivr.config.plan import is_audio_file
from ivr.prompts.job import VOICES, PromptJob
from ivr.prompts.queue_sounds import queue_sound_jobs


@dataclass
class BuildReport:
    rendered: list[str]
    unchanged: list[str]
    removed: list[str]


def jobs(config: ConfigSet) -> Iterator[PromptJob]:
    for plan in config.plans.values():
        base = Path(plan.source).parent
        for prompt_id, prompt in plan.prompts.items():
            yield from _prompt_jobs(prompt, f"ivr/{plan.name}/{{lang}}/{prompt_id}", base)
    rules_file = next((Path(f) for f in config.files if Path(f).name == RULES_FILE), Path(RULES_FILE))
    for prompt_id, prompt in config.rules.system_prompts.items():
        yield from _prompt_jobs(prompt, f"ivr/{{lang}}/{prompt_id}", rules_file.parent)
    # What app_queue says to waiting callers, where Asterisk has no sounds for the language.
    yield from queue_sound_jobs(config.rules.queueing.announcements.sound_languages)


def _prompt_jobs(prompt: Prompt, pattern: str, base: Path) -> Iterator[PromptJob]:
    """Recording files are relative to the YAML file that names them; a recording that names an
    installed Asterisk sound needs no job."""
    for language in sorted({*prompt.text, *prompt.recording}):
        recording = prompt.recording.get(language)
        text = prompt.text.get(language, "")
        if recording and is_audio_file(recording):
            yield PromptJob(pattern.format(lang=language), language, text, base / recording)
        elif not recording and text.strip():
            yield PromptJob(pattern.format(lang=language), language, text)


def render_one(job: PromptJob, target: Path) -> None:
    """espeak-ng speaks to a temporary WAV (or the recording is taken as it is); sox makes it 8 kHz,
    mono, 16-bit for Asterisk's slin."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = job.recording or Path(tmp) / "raw.wav"
        if job.recording is None:
            voice = VOICES.get(job.language, job.language)
            subprocess.run(["espeak-ng", "-v", voice, "-s", "155", "-w", str(raw), job.text], check=True,
                           capture_output=True)
        partial = target.with_suffix(".tmp.wav")
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(partial),
                        "gain", "-n", "-3"], check=True, capture_output=True)
        partial.replace(target)


def build_prompts(config: ConfigSet, out_dir: Path) -> BuildReport:
    """`out_dir` mirrors Asterisk's sounds/ folder (out_dir/ivr/main/sv/welcome.wav)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (Debian package {tool})")
    manifest_path = out_dir / "manifest.json"
    manifest: dict[str, str] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report = BuildReport([], [], [])
    wanted: dict[str, str] = {}
    for job in jobs(config):
        target = out_dir / f"{job.sound}.wav"
        wanted[job.sound] = job.fingerprint
        if manifest.get(job.sound) == job.fingerprint and target.exists():
            report.unchanged.append(job.sound)
            continue
        render_one(job, target)
        report.rendered.append(job.sound)
    for sound in set(manifest) - set(wanted):
        (out_dir / f"{sound}.wav").unlink(missing_ok=True)
        report.removed.append(sound)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(wanted, indent=1, sort_keys=True))
    return report
