"""Which recording applies to a call heading for an agent group: the group's own `recording`, else its
department's; none when the department forbids recording (`recording_policy: forbidden`)."""

from __future__ import annotations

from ivr.config.loader import ConfigSet
from ivr.config.model import Recording

# System prompts (routing_rules.yaml) the daemon plays before queueing a recorded call.
ANNOUNCE_PROMPT = "recording-notice"
ASK_PROMPT = "recording-ask"


def recording_for(config: ConfigSet, group_name: str) -> Recording | None:
    group = config.groups.get(group_name)
    if group is None:
        return None
    department = config.departments.get(group.department)
    if department is not None and department.recording_policy == "forbidden":
        return None
    chosen = group.recording or (department.recording if department is not None else None)
    return chosen if chosen is not None and chosen.mode != "off" else None


def prompt_for(recording: Recording) -> str:
    return ASK_PROMPT if recording.mode == "ask" else ANNOUNCE_PROMPT
