"""An IVR plan (one file in dialplans/): its prompts and its nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ivr.config.model import Frozen, Identifier, Language, Prompt

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
DialledNumber = Annotated[str, StringConstraints(pattern=r"^(\+[1-9][0-9]{6,14}|[0-9]{2,15})$")]


# callback_group: an agent group that takes callback requests (its `callback_requests` is set).
RefKind = Literal["node", "prompt", "group", "callback_group", "schedule", "language"]
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Ref:
    """A name a node points at, and the field (inside the node) that names it."""

    kind: RefKind
    target: str
    field: FieldPath


class PlanNode(BaseModel):
    """A node as a plan file describes it: what `ivr check` needs. The node kinds (`ivr.engine.nodes`) add how
    each one runs; the loader is handed them (`ivr.validate`), so this floor does not import them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind_name: ClassVar[str]
    # A terminal node ends the menu (queue, transfer, hang-up); the checker needs every node to reach one.
    terminal: ClassVar[bool] = False
    # Whether the node waits for the caller (a loop through no such node would spin).
    takes_input: ClassVar[bool] = False

    description: str = ""

    def refs(self) -> list[Ref]:
        return []


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
    nodes: Mapping[str, PlanNode]

    def sound(self, prompt_id: str, language: str) -> str:
        """The Asterisk sound name of a prompt: an installed recording if named, else the rendered audio
        (`ivr prompts build` renders the text, or converts a recording given as an audio file)."""
        language = self._spoken_language(prompt_id, language)
        recorded = self.prompts[prompt_id].recording.get(language)
        if recorded and not is_audio_file(recorded):
            return recorded
        return f"ivr/{self.name}/{language}/{prompt_id}"

    def text(self, prompt_id: str, language: str) -> str:
        """What the caller hears, as text (for `ivr call`); "" for a recording without text."""
        prompt = self.prompts[prompt_id]
        return prompt.text.get(self._spoken_language(prompt_id, language), "")

    def prompt_for_sound(self, sound: str) -> tuple[str, str] | None:
        """The (prompt id, language) a sound name was made from: the reverse of `sound`."""
        for prompt_id in self.prompts:
            for language in self.languages:
                if self.sound(prompt_id, language) == sound:
                    return prompt_id, self._spoken_language(prompt_id, language)
        return None

    def _spoken_language(self, prompt_id: str, language: str) -> str:
        prompt = self.prompts[prompt_id]
        return language if language in prompt.text or language in prompt.recording else self.default_language


# A recording ending like this is a file in the config tree, converted by `ivr prompts build`;
# anything else names a sound already installed in Asterisk.
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".aiff", ".au")


def is_audio_file(recording: str) -> bool:
    return recording.lower().endswith(AUDIO_SUFFIXES)
