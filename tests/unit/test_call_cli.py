"""`ivr call`: the admin is the caller, in a real terminal (a pty), on the daemon's interpreter."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ivr.channel import CallerHungUp
from ivr.config import ConfigSet
from ivr.config.plan import Plan
from ivr.engine.interpreter import run_call
from ivr.engine.terminal import TerminalChannel

REPO = Path(__file__).resolve().parents[2]
WEEKDAY = "2026-12-22T10:00"  # a Tuesday, open


class Terminal:
    """`ivr call` on a pseudo-terminal: read what it prints, type lines as the admin would."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.process = subprocess.Popen([sys.executable, "-c", "from ivr.cli import entry; entry()", "call", *args],
                                        cwd=REPO, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.screen = ""

    def expect(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {text!r}; screen:\n{self.screen}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the program ended and closed the terminal
                    chunk = b""
                assert chunk, f"ended before {text!r}; screen:\n{self.screen}"
                self.screen += chunk.decode("utf-8", errors="replace").replace("\r\n", "\n")
        return self.screen

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def close(self) -> int:
        code = self.process.wait(timeout=20)
        os.close(self.master)
        return code


def test_call_reaches_streets_queue_in_english() -> None:
    terminal = Terminal("--at", WEEKDAY)
    terminal.expect("For English, press 2.")
    terminal.expect("keys (wait 4 s)> ")
    terminal.type("2")
    terminal.expect("For streets and parks, press 4.")
    terminal.expect("keys (wait 6 s)> ")
    terminal.type("4")
    screen = terminal.expect("path welcome")
    assert terminal.close() == 0
    assert "language: en" in screen
    assert "→ tag_streets [set]" in screen
    assert "[en] connecting: You are now being connected to an agent." in screen
    assert "outcome: queue kc-streets (group streets, priority 0)" in screen
    # Swedish was only heard before the language choice.
    after_choice = screen.split("language: en")[1]
    assert "Välkommen" not in after_choice and "[sv]" not in after_choice


def test_q_hangs_up() -> None:
    terminal = Terminal("--at", WEEKDAY)
    terminal.expect("keys (wait 4 s)> ")
    terminal.type("q")
    screen = terminal.expect("path welcome")
    assert terminal.close() == 0
    assert "(you hung up)" in screen
    assert "outcome: abandoned (caller hung up in the menu)" in screen


async def test_channel_lines_keys_silence_and_hangup(main_plan: Plan, shipped_config: ConfigSet) -> None:
    lines = iter(["\n", "13\n", "q\n", ""])
    out = io.StringIO()
    channel = TerminalChannel(main_plan, lambda: next(lines), out)
    assert await channel.wait_for_key(4) == ""  # empty line: silence
    assert await channel.wait_for_key(4) == "1"
    assert await channel.wait_for_key(4) == "3"  # the rest of the line, without asking again
    with pytest.raises(CallerHungUp):
        await channel.wait_for_key(4)  # q
    with pytest.raises(CallerHungUp):
        await channel.wait_for_key(4)  # end of input (Ctrl-D)
    assert out.getvalue().count("keys (wait 4 s)> ") == 4
    assert out.getvalue().count("(you hung up)") == 2


async def test_channel_prints_prompt_text_in_the_callers_language(main_plan: Plan, shipped_config: ConfigSet) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    out = io.StringIO()
    lines = iter(["3\n", "5\n"])
    channel = TerminalChannel(main_plan, lambda: next(lines), out)
    moment = dt.datetime(2026, 12, 22, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    result = await run_call(shipped_config, main_plan, channel, now=moment)
    assert result.outcome is not None and result.outcome.queue == "kc-general"
    text = out.getvalue()
    assert f"[ar] main_menu: {main_plan.prompts['main_menu'].text['ar']}" in text
    assert "[ar] connecting:" in text
