"""What the contact center's agents may learn about an earlier attempt when the citizen calls back.

| level | the `returning_caller` event carries |
|---|---|
| none | nothing: no event is published, the call is only routed |
| department | the department and when it tried |
| person | also who called (official or agent) and why (the purpose's label) |

The stricter of the level stored with the attempt and the department's level now applies, so that
tightening a department's disclosure also covers attempts made before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ivr.config.loader import ConfigSet
from ivr.config.model import Disclosure
from ivr.contacts.store import Attempt

LEVELS: tuple[Disclosure, ...] = ("none", "department", "person")


def effective_level(config: ConfigSet, attempt: Attempt) -> Disclosure:
    department = config.departments.get(attempt.department or "")
    current = department.disclosure if department is not None else "none"
    return LEVELS[min(_rank(attempt.disclosure), _rank(current))]


def _rank(level: str) -> int:
    """An unknown level (a row from a newer version) counts as the strictest."""
    return next((rank for rank, known in enumerate(LEVELS) if known == level), 0)


def agent_view(config: ConfigSet, attempt: Attempt, *, offer: str) -> dict[str, Any] | None:
    """The event payload agents may see, or None when they may see nothing. `offer` is what the citizen
    did with the offer: accepted or declined."""
    level = effective_level(config, attempt)
    if level == "none":
        return None
    department = config.departments.get(attempt.department or "")
    view: dict[str, Any] = {
        "disclosure": level,
        "department": attempt.department,
        "department_name": department.name if department else "",
        "attempted_at": dt.datetime.fromtimestamp(attempt.attempted_at, dt.UTC).isoformat(timespec="seconds"),
        "offer": offer,
    }
    if level == "person":
        purpose = config.rules.caller_id.purposes.get(attempt.purpose or "")
        view.update(placer_kind=attempt.placer_kind, placer=attempt.placer, placer_name=_name(config, attempt),
                    purpose=attempt.purpose, purpose_label=purpose.label if purpose else "")
    return view


def _name(config: ConfigSet, attempt: Attempt) -> str:
    if attempt.placer_kind == "official" and attempt.placer in config.officials:
        return config.officials[attempt.placer].name
    if attempt.placer_kind == "agent" and attempt.placer in config.agents:
        return config.agents[attempt.placer].name
    return ""
