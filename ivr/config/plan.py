"""An IVR plan (one file in dialplans/): its prompts and its nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from ivr.config.model import Frozen, Identifier, Language, Prompt
from ivr.nodes import NodeBase

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
DialledNumber = Annotated[str, StringConstraints(pattern=r"^(\+[1-9][0-9]{6,14}|[0-9]{2,15})$")]


class PlanHeader(Frozen):
    """Everything in a plan file but the nodes, which are validated one by one by their kind."""

    plan: Identifier
    description: str = ""
    numbers: tuple[DialledNumber, ...] = Field(min_length=1)
    languages: tuple[Language, ...] = Field(min_length=1)
    default_language: Language
    start: NodeId
    prompts: dict[Identifier, Prompt] = Field(default_factory=dict)
    nodes: dict[NodeId, dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class Plan:
    name: str
    source: str
    description: str
    numbers: tuple[str, ...]
    languages: tuple[str, ...]
    default_language: str
    start: str
    prompts: Mapping[str, Prompt]
    nodes: Mapping[str, NodeBase]

    def sound(self, prompt_id: str, language: str) -> str:
        """The Asterisk sound name of a prompt: a recording if given, else the rendered text."""
        prompt = self.prompts[prompt_id]
        if language not in prompt.text and language not in prompt.recording:
            language = self.default_language
        recorded = prompt.recording.get(language)
        if recorded:
            return recorded
        return f"ivr/{self.name}/{language}/{prompt_id}"
