"""A problem found in the configuration, located to file, line and column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str
    hint: str = ""
    severity: str = "error"

    def format(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(Exception):
    """The configuration is not valid; `problems` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(p.format() for p in self.problems))


def unknown_name(what: str, name: str, known: Iterable[str]) -> tuple[str, str]:
    """The message and hint for a name that is not defined: the closest known name, else the known ones."""
    names = sorted(known)
    guess = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean '{guess[0]}'?" if guess else (f"known: {', '.join(names)}" if names else f"define a {what}")
    return f"unknown {what} '{name}'", hint
