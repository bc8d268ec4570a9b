"""The fuzz targets (fuzz/targets.py) in CI: a short atheris run of every target (a smoke check that
they run, coverage-guided), their seeds, and proof that each target notices the bug class it is there
for. Fuzzing proper, with the corpus kept between runs: `scripts/fuzz` (docs/reliability.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # fuzz/ lives beside the package, not in it
    sys.path.insert(0, str(REPO))

from fuzz import targets  # noqa: E402
from fuzz.targets import SEEDS, TARGETS  # noqa: E402

CI_SECONDS = 3


def test_every_target_has_seeds_that_pass() -> None:
    assert set(SEEDS) == set(TARGETS)
    for name, target in TARGETS.items():
        assert SEEDS[name], name
        for seed in SEEDS[name]:
            target(seed)


def test_short_atheris_run_of_every_target(tmp_path: Path) -> None:
    """All targets in parallel for a few seconds each: every one runs many inputs and none crashes."""
    run = subprocess.run([sys.executable, "-m", "fuzz.run", "--seconds", str(CI_SECONDS), "--artifacts",
                          str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=CI_SECONDS + 120)
    assert run.returncode == 0, run.stdout + run.stderr
    counts = dict(re.findall(r"^(\w+): ok, (\d+) runs", run.stdout, re.MULTILINE))
    assert set(counts) == set(TARGETS), run.stdout
    # Instrumented code runs slower than the blind runs this once counted (1000+ inputs in 3 s).
    assert all(int(count) >= 100 for count in counts.values()), counts
    # Coverage-guided, not blind: each corpus grew past its seeds (ivr was imported before atheris
    # instrumented it once, and libFuzzer then found nothing new in any run).
    corpora = {name: int(size) for name, size in re.findall(r"^(\w+): ok, .*corpus (\d+) inputs", run.stdout,
                                                              re.MULTILINE)}
    assert all(corpora[name] > len(SEEDS[name]) for name in TARGETS), run.stdout
    assert not any((tmp_path / "crashes").rglob("crash-*"))


def test_a_crash_fails_the_run_and_leaves_its_input(tmp_path: Path) -> None:
    """A target that breaks is reported, with the input saved for --replay."""
    corpus = tmp_path / "corpus" / "agi_reply"
    corpus.mkdir(parents=True)
    # A HANGUP notice with no reply after it is junk to parse_reply; break the target on exactly that.
    script = ("import sys, fuzz.targets as t\n"
              "real = t.agi_reply\n"
              "def broken(data):\n"
              "    if data.startswith(b'HANGUP'):\n"
              "        raise KeyError('planted')\n"
              "    real(data)\n"
              "t.TARGETS['agi_reply'] = broken\n"
              "from fuzz.run import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    child = [sys.executable, "-c", script, "--child", "agi_reply", "--", "-max_total_time=20",
             f"-artifact_prefix={tmp_path}/", str(corpus)]
    (corpus / "seed").write_bytes(b"HANGUP\n")
    run = subprocess.run(child, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "KeyError: 'planted'" in run.stdout + run.stderr
    crashes = list(tmp_path.glob("crash-*"))
    assert crashes and crashes[0].read_bytes().startswith(b"HANGUP")


def bad_header_names(block: bytes) -> dict[str, str]:
    return {"bad name": "x"}


def crashing_parser(lines: list[str]) -> None:
    raise IndexError("the kind of bug a parser has on junk")


def unquoted_command(name: str, *args: str) -> bytes:
    return (" ".join([name, *args]) + "\n").encode()


def unsanitised_segment(text: object) -> str:
    return str(text)


def no_scrubbing(text: str) -> str:
    return text


@pytest.mark.parametrize(("name", "module_attr", "replacement"), [
    ("agi_headers", "parse_headers", bad_header_names),
    ("agi_reply", "parse_reply", crashing_parser),
    ("untrusted_text", "format_command", unquoted_command),
    ("untrusted_text", "topic_segment", unsanitised_segment),
    ("untrusted_text", "scrub_text", no_scrubbing),
])
def test_targets_catch_the_bugs_they_look_for(monkeypatch: pytest.MonkeyPatch, name: str, module_attr: str,
                                              replacement: object) -> None:
    """Swap a safe function for a naive one: the target must fail on some seed."""
    monkeypatch.setattr(targets, module_attr, replacement)
    failures = 0
    for seed in SEEDS[name]:
        try:
            TARGETS[name](seed)
        except (AssertionError, IndexError):
            failures += 1
    assert failures, f"{name} did not notice a naive {module_attr}"


def test_ami_target_catches_a_number_in_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    from ivr.live.ami_bridge import AmiBridge

    def leaky_ref(self: AmiBridge, msg: object) -> str:
        return str(msg.get("CallerIDNum", ""))  # type: ignore[attr-defined]

    monkeypatch.setattr(AmiBridge, "_ref", leaky_ref)
    with pytest.raises(AssertionError, match="caller number"):
        TARGETS["ami_stream"](SEEDS["ami_stream"][0])


@pytest.mark.parametrize("leaky_header", ["CallerIDNum", "CallerIDName", "ConnectedLineNum", "Exten", "Value",
                                          "SomeHeaderNobodyExpected"])
def test_ami_target_catches_a_number_from_any_header(monkeypatch: pytest.MonkeyPatch, leaky_header: str) -> None:
    """The leak oracle looks at every header, not a chosen few: a bridge that publishes any header it
    should not (here on a hang-up) is caught, whatever the header is called."""
    from ivr.ami.reply import header
    from ivr.live.ami_bridge import AmiBridge

    def leaky_hangup(self: AmiBridge, msg: object) -> None:
        self._send("call_ended", uniqueid=header(msg, "Uniqueid"), note=header(msg, leaky_header))  # type: ignore[arg-type]

    monkeypatch.setattr(AmiBridge, "on_hangup", leaky_hangup)
    frame = f"\x05Event: Hangup\r\nUniqueid: 1790.5\r\n{leaky_header}: 070-123 45 67\r\n\r\n".encode()
    with pytest.raises(AssertionError, match="caller number"):
        TARGETS["ami_stream"](frame)


def test_ami_target_lets_the_bridge_publish_its_identifiers() -> None:
    """Long digit runs in the headers the bridge publishes on purpose (Asterisk's uniqueid, a queue's
    name, a callback stand-in's id) are not leaks."""
    frames = (b"\x05Event: QueueCallerJoin\r\nQueue: kc-1234567\r\nUniqueid: 1790000000.123\r\nPosition: 1\r\n"
              b"CallerIDNum: 1790000000\r\n\r\n"
              b"Event: AgentCalled\r\nQueue: kc-1234567\r\nUniqueid: 1790000000.9\r\n"
              b"Channel: Local/cb12345678@ivr-callback-hold-00000001;1\r\nMemberName: Agent 2001\r\n\r\n")
    TARGETS["ami_stream"](frames)
