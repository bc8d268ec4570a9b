"""`ivr prompts build`: 8 kHz mono audio, only what changed, removals, recordings; and the checker's view
of a prompt with nothing to play."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import ConfigError
from ivr.prompts.render import build_prompts
from ivr.validate import load_config

Break = Callable[[str, str, str], Path]
PLAN = "dialplans/mini.yaml"
ALL = {f"ivr/mini/{lang}/{prompt}" for lang in ("sv", "en") for prompt in ("welcome", "menu", "closed")}


def soxi(flag: str, path: Path) -> str:
    return subprocess.run(["soxi", flag, str(path)], capture_output=True, text=True, check=True).stdout.strip()


def build(out: Path) -> tuple[set[str], set[str], set[str]]:
    report = build_prompts(load_config(["."]), out)
    return set(report.rendered), set(report.unchanged), set(report.removed)


def test_renders_8khz_mono_16bit_audio(config_tree: Path) -> None:
    rendered, unchanged, removed = build(config_tree / "out")
    assert rendered == ALL
    assert not unchanged and not removed
    for sound in ALL:
        wav = config_tree / "out" / f"{sound}.wav"
        assert soxi("-r", wav) == "8000"
        assert soxi("-c", wav) == "1"
        assert soxi("-b", wav) == "16"
        assert soxi("-t", wav) == "wav"
        assert float(soxi("-D", wav)) > 0.3  # speech, not an empty file


def test_second_run_renders_nothing(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prompts", "build", "--out", "out"]) == 0
    capsys.readouterr()
    before = {p: p.stat().st_mtime_ns for p in (config_tree / "out").rglob("*.wav")}
    assert main(["prompts", "build", "--out", "out"]) == 0
    assert "0 rendered, 6 unchanged, 0 removed" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (config_tree / "out").rglob("*.wav")} == before


def test_changed_text_is_rendered_again_alone(config_tree: Path, break_file: Break) -> None:
    build(config_tree / "out")
    old = (config_tree / "out/ivr/mini/en/closed.wav").read_bytes()
    break_file(PLAN, 'en: "Closed."', 'en: "We are closed now, please call again tomorrow."')
    rendered, unchanged, removed = build(config_tree / "out")
    assert rendered == {"ivr/mini/en/closed"}
    assert unchanged == ALL - rendered
    assert not removed
    assert (config_tree / "out/ivr/mini/en/closed.wav").read_bytes() != old


def test_deleted_prompt_is_removed(config_tree: Path, break_file: Break) -> None:
    build(config_tree / "out")
    break_file(PLAN, "    kind: hangup\n    prompt: closed\n", "    kind: hangup\n")
    break_file(PLAN, '  closed:\n    text: {sv: "Stängt.", en: "Closed."}\n', "")
    rendered, unchanged, removed = build(config_tree / "out")
    assert removed == {"ivr/mini/sv/closed", "ivr/mini/en/closed"}
    assert not rendered
    assert unchanged == ALL - removed
    assert not (config_tree / "out/ivr/mini/sv/closed.wav").exists()
    assert (config_tree / "out/ivr/mini/sv/welcome.wav").exists()


def test_recording_that_names_an_installed_sound_is_played_as_is(config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, 'text: {sv: "Välkommen.", en: "Welcome."}',
               'text: {en: "Welcome."}\n    recording: {sv: custom/welcome-recorded}')
    plan = load_config(["."]).plans["mini"]
    assert plan.sound("welcome", "sv") == "custom/welcome-recorded"
    assert plan.prompt_for_sound("custom/welcome-recorded") == ("welcome", "sv")
    rendered, _, _ = build(config_tree / "out")
    assert rendered == ALL - {"ivr/mini/sv/welcome"}


def test_recording_file_is_converted_to_asterisk_format(config_tree: Path, break_file: Break) -> None:
    studio = config_tree / "dialplans/recordings/welcome-sv.wav"
    studio.parent.mkdir()
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(studio), "synth", "0.5", "sine", "440"], check=True)
    break_file(PLAN, 'text: {sv: "Välkommen.", en: "Welcome."}',
               'text: {en: "Welcome."}\n    recording: {sv: recordings/welcome-sv.wav}')
    plan = load_config(["."]).plans["mini"]
    assert plan.sound("welcome", "sv") == "ivr/mini/sv/welcome"
    rendered, _, _ = build(config_tree / "out")
    assert rendered == ALL
    converted = config_tree / "out/ivr/mini/sv/welcome.wav"
    assert (soxi("-r", converted), soxi("-c", converted)) == ("8000", "1")
    assert abs(float(soxi("-D", converted)) - 0.5) < 0.05
    # A new take of the recording (same name, new bytes) is converted again.
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(studio), "synth", "0.8", "sine", "330"], check=True)
    rendered, _, _ = build(config_tree / "out")
    assert rendered == {"ivr/mini/sv/welcome"}


def test_missing_recording_file_is_named(config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, 'text: {sv: "Välkommen.", en: "Welcome."}',
               'text: {en: "Welcome."}\n    recording: {sv: recordings/nope.wav}')
    with pytest.raises(FileNotFoundError, match=r"recordings/nope\.wav"):
        build(config_tree / "out")


@pytest.mark.parametrize("empty", ['""', '"   "'])
def test_checker_reports_empty_text_as_missing(config_tree: Path, break_file: Break, empty: str) -> None:
    break_file(PLAN, 'en: "Closed."', f"en: {empty}")
    with pytest.raises(ConfigError) as caught:
        load_config(["."])
    assert [p.message for p in caught.value.problems] == ["prompt 'closed' has no text or recording in en"]
    assert caught.value.problems[0].file == PLAN
