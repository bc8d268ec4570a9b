"""What happened during a call, node by node: for `ivr simulate`, logs, events and call records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Played:
    prompt: str
    language: str
    sound: str
    interrupted_by: str = ""


@dataclass
class TraceStep:
    node: str
    kind: str
    played: list[Played] = field(default_factory=list)
    keys: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "kind": self.kind,
            "played": [vars(p) for p in self.played],
            "keys": self.keys,
            "notes": self.notes,
        }
