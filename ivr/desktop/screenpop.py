"""The screen pop: what the agent's page shows about a call (docs/desktop.md, `screenpop` messages and
`GET /api/v1/agent/call`).

Built only from what the IVR learned and is allowed to tell: the menu's path, language, tags and the
digits keyed into `collect` nodes (never a number: ivr.engine.nodes.collect.shown_digits), the queue and group,
the wait, the repeat-caller flag, the group's wrap-up codes, and the returning-caller information as
the department's disclosure level allows:

| disclosure | `returning` |
|---|---|
| none | null: nothing, not even that someone tried to reach the caller |
| department | {department, department_name, attempted_at} |
| person | also {official, purpose}: who tried (name) and why (the purpose's label) |

Never the caller's number, caller_ref or caller_hash, never the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ivr.config.loader import ConfigSet

PopState = Literal["ringing", "answered", "ended", "wrapup"]


@dataclass
class KnownCall:
    """One call the desktop knows about (kept by ivr.desktop.calls.DesktopCalls)."""

    uniqueid: str
    seen_at: float
    callback_id: int | None = None
    channel: str = ""  # the caller's channel, for transfers; never shown
    language: str = ""
    path: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    digits: dict[str, str] = field(default_factory=dict)
    menu_group: str = ""
    repeat_caller: bool = False
    returning: dict[str, Any] | None = None
    queue: str = ""
    queued_at: float | None = None
    ringing: set[str] = field(default_factory=set)  # agents whose phone rings (or rang) for it
    agent: str = ""  # the agent who answered
    answered_at: float | None = None
    wait_s: float | None = None
    ended_at: float | None = None
    state: PopState | None = None
    wrapup_code: str | None = None
    transferred_by: set[str] = field(default_factory=set)  # agents who passed the call on (their wrap-up)
    transferred_by_group: dict[str, str] = field(default_factory=dict)  # ...and the group they took it in


def returning_view(data: dict[str, Any]) -> dict[str, Any] | None:
    """A `returning_caller` event's data (already limited by ivr.contacts.disclosure.agent_view) cut to
    the screen pop's fields for its level; None for `none` or anything unknown."""
    level = data.get("disclosure")
    if level not in ("department", "person"):
        return None
    view = {"department": str(data.get("department") or ""),
            "department_name": str(data.get("department_name") or ""),
            "attempted_at": str(data.get("attempted_at") or "")}
    if level == "person":
        view["official"] = str(data.get("placer_name") or data.get("placer") or "")
        view["purpose"] = str(data.get("purpose_label") or data.get("purpose") or "")
    return view


def group_of_queue(config: ConfigSet, queue: str) -> str:
    """The agent group whose queue (or skill queue) this is; '' when none."""
    for name, group in config.groups.items():
        if queue in group.queues:
            return name
    return ""


def build(config: ConfigSet, call: KnownCall, now: float, *, state: PopState | None = None,
          agent: str = "") -> dict[str, Any]:
    """The pop as `agent` sees it: one who passed the call on sees it in wrap-up, in the group they
    answered it in (its wrap-up codes apply)."""
    if agent in call.transferred_by:
        state = state or "wrapup"
        group_id = call.transferred_by_group.get(agent, "")
    else:
        group_id = group_of_queue(config, call.queue) or call.menu_group
    group = config.groups.get(group_id)
    department_id = call.tags.get("department") or (group.department if group else "")
    department = config.departments.get(department_id)
    codes = group.wrapup_codes if group else {}
    if call.wait_s is not None:
        waited: float | None = call.wait_s
    elif call.queued_at is not None:
        waited = max(0.0, (call.answered_at or now) - call.queued_at)
    else:
        waited = None
    pop: dict[str, Any] = {
        "uniqueid": call.uniqueid, "kind": "callback" if call.callback_id is not None else "call",
        "state": state or call.state or "ringing", "queue": call.queue, "group": group_id,
        "group_name": (group.description or group_id) if group else group_id,
        "department": department_id, "department_name": department.name if department else "",
        "language": call.language, "path": list(call.path), "tags": dict(call.tags), "digits": dict(call.digits),
        "waited_s": None if waited is None else round(waited, 1), "repeat_caller": call.repeat_caller,
        "returning": dict(call.returning) if call.returning is not None else None,
        "wrapup": {"required": bool(group and group.wrapup_required and codes),
                   "codes": [{"code": code, "label": labels.get("sv", code), "labels": dict(labels)}
                             for code, labels in codes.items()],
                   "submitted": call.wrapup_code},
    }
    if call.callback_id is not None:
        pop["callback_id"] = call.callback_id
    return pop
