"""The state of one call while the interpreter runs it, and the helpers node kinds use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.channel import DTMF_KEYS, CallChannel
from ivr.config.loader import ConfigSet
from ivr.config.plan import Plan
from ivr.engine.outcome import Outcome
from ivr.engine.trace import Played, TraceStep
from ivr.opening_hours import OpeningState, opening_state

StepListener = Callable[[TraceStep], None]


@dataclass
class CallContext:
    config: ConfigSet
    plan: Plan
    channel: CallChannel
    now: dt.datetime
    language: str
    tags: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    steps: list[TraceStep] = field(default_factory=list)
    typeahead: str = ""

    @property
    def step(self) -> TraceStep:
        return self.steps[-1]

    def note(self, text: str) -> None:
        self.step.notes.append(text)

    def take_typeahead(self) -> str:
        key, self.typeahead = self.typeahead[:1], self.typeahead[1:]
        if key:
            self.step.keys += key
        return key

    async def play(self, prompt_id: str, *, interruptible: bool = True, language: str | None = None,
                   keep_key: bool = True) -> str:
        """Play a prompt in the caller's language. A key that interrupts it is returned and,
        with `keep_key`, kept as type-ahead for the next question."""
        lang = language or self.language
        sound = self.plan.sound(prompt_id, lang)
        key = await self.channel.play(sound, interrupt_keys=DTMF_KEYS if interruptible else "")
        self.step.played.append(Played(prompt_id, lang, sound, key))
        if key:
            if keep_key:
                self.typeahead += key
            else:
                self.step.keys += key
        return key

    async def wait_for_key(self, timeout_s: float) -> str:
        key = await self.channel.wait_for_key(timeout_s)
        self.step.keys += key
        return key

    async def ask(self, prompt_id: str, *, timeout_s: float) -> str:
        """One key: type-ahead first, else play the prompt (interruptible), else wait."""
        key = self.take_typeahead()
        if key:
            return key
        key = await self.play(prompt_id, interruptible=True, keep_key=False)
        return key or await self.wait_for_key(timeout_s)

    async def read_digits(self, prompt_id: str, *, max_digits: int, terminator: str,
                          timeout_s: float) -> tuple[str, bool]:
        """The digits typed, and whether the caller ended them with the terminator."""
        first = await self.ask(prompt_id, timeout_s=timeout_s)
        digits = ""
        key = first
        while key and key != terminator and len(digits) < max_digits:
            digits += key
            if len(digits) == max_digits:
                break
            key = self.take_typeahead() or await self.wait_for_key(timeout_s)
        return digits, bool(key) and key == terminator

    async def set_language(self, language: str) -> None:
        self.language = language
        await self.channel.set_language(language)

    def opening_state(self, schedule_name: str) -> OpeningState:
        return opening_state(self.config.rules.schedules[schedule_name], self.now)

    def queue_outcome(self, group_name: str, *, priority: int = 0, reason: str = "") -> Outcome:
        group = self.config.groups[group_name]
        return Outcome("queue", group=group_name, queue=group.queue, priority=priority, reason=reason)
