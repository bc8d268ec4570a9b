"""Fuzz the targets of fuzz/targets.py with atheris (libFuzzer), each in its own process, in parallel.

    scripts/fuzz                              # fuzzing proper: 10 minutes a target, kept corpus
    python -m fuzz.run                        # every target, 60 s each
    python -m fuzz.run --seconds 600 ami_stream agi_channel
    python -m fuzz.run --seconds 3            # what CI runs (tests/unit/test_fuzz_targets.py)

Needs `pip install -e '.[fuzz]'`. A crash leaves its input in --artifacts (default build/fuzz/) and
the exit status is 1; replay it with `python -m fuzz.run --replay FILE TARGET`. The corpus each
target grows is kept in build/fuzz/corpus/<target>/ so a longer run starts where the last ended.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_DONE = re.compile(rb"Done (\d+) runs in (\d+) second")
# libFuzzer's status lines: coverage features seen and corpus size (both stay at the seeds' when blind).
_STATUS = re.compile(rb"cov: (\d+) ft: \d+ corp: (\d+)/")


def _quiet_logs() -> None:
    """The daemon's code logs warnings on junk by design; at thousands of inputs a second, drop them."""
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


def _child(target: str, libfuzzer_args: list[str]) -> None:
    """Run one target in this process under atheris (does not return)."""
    import atheris  # type: ignore[import-untyped]

    with atheris.instrument_imports(include=["ivr"]):
        from fuzz.targets import TARGETS
    _quiet_logs()
    atheris.Setup([sys.argv[0], *libfuzzer_args], TARGETS[target])
    atheris.Fuzz()


def _seed_corpus(target: str, corpus: Path) -> None:
    from fuzz.targets import SEEDS

    corpus.mkdir(parents=True, exist_ok=True)
    for number, seed in enumerate(SEEDS[target]):
        path = corpus / f"seed-{number}"
        if not path.exists():
            path.write_bytes(seed)


def fuzz(targets: list[str], seconds: int, artifacts: Path) -> int:
    """Fuzz `targets` in parallel; print one line each; 0 if none crashed."""
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for target in targets:
        corpus = artifacts / "corpus" / target
        _seed_corpus(target, corpus)
        crashes = artifacts / "crashes" / target
        crashes.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "fuzz.run", "--child", target, "--",
                   f"-max_total_time={seconds}", f"-artifact_prefix={crashes}/", "-rss_limit_mb=2048",
                   "-timeout=10", str(corpus)]
        processes[target] = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    failed = 0
    for target, process in processes.items():
        output, _ = process.communicate(timeout=seconds + 120)
        done = _DONE.search(output)
        runs = int(done[1]) if done else 0
        if process.returncode != 0 or done is None:
            failed += 1
            print(f"{target}: FAILED (exit {process.returncode}) after {runs} runs; artifacts in "
                  f"{artifacts / 'crashes' / target}\n{output.decode(errors='replace')[-3000:]}")
        else:
            status = _STATUS.findall(output)
            cov, corpus = (int(status[-1][0]), int(status[-1][1])) if status else (0, 0)
            print(f"{target}: ok, {runs} runs in {done[2].decode()} s; coverage {cov}, corpus {corpus} inputs")
    return 1 if failed else 0


def replay(path: Path, target: str) -> int:
    """Run one saved input through a target, with a traceback if it still fails."""
    from fuzz.targets import TARGETS

    _quiet_logs()
    TARGETS[target](path.read_bytes())
    print(f"{target}: {path} passes")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # `--child TARGET -- libFuzzer flags...`, started by fuzz()
        # Before anything imports ivr: imported earlier, the code is not instrumented and libFuzzer
        # runs blind (no coverage, the corpus never grows past its seeds).
        _child(argv[1], [a for a in argv[2:] if a != "--"])
    from fuzz.targets import TARGETS

    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--seconds", type=int, default=60, help="per target (they run in parallel)")
    parser.add_argument("--artifacts", type=Path, default=REPO / "build" / "fuzz")
    parser.add_argument("--replay", type=Path, help="run this saved input through the one TARGET given")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    if args.replay:
        if len(args.targets) != 1:
            parser.error("--replay needs exactly one TARGET")
        return replay(args.replay, args.targets[0])
    started = time.monotonic()
    code = fuzz(args.targets or list(TARGETS), args.seconds, args.artifacts)
    print(f"fuzzing took {time.monotonic() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
