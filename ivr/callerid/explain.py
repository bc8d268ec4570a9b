"""The outbound decision as `ivr simulate --outbound` shows it: who calls, which rule decides, what the
citizen sees, and whether the attempt is registered."""

from __future__ import annotations

from typing import Any

from ivr.callerid.dialled import parse_dialled, resolve_purpose
from ivr.callerid.directory import identify
from ivr.callerid.policy import decide
from ivr.config.loader import ConfigSet
from ivr.privacy import mask_number


def explain_outbound(config: ConfigSet, *, extension: str, dialled: str, purpose: str = "") -> dict[str, Any]:
    """Raises ValueError (with what to do) for a number or an extension the daemon would not handle."""
    parsed = parse_dialled(dialled)
    if parsed is None:
        raise ValueError(f"'{mask_number(dialled)}' is not a number to dial (0..., +..., or *8<code><number>)")
    placer = identify(config, extension)
    if placer is None:
        raise ValueError(f"no official or agent has extension {extension}; the dialplan's fallback would decide")
    purpose_id = resolve_purpose(config, code=parsed.purpose_code, ident=purpose)
    if (parsed.purpose_code or purpose) and purpose_id is None:
        known = ", ".join(f"{name} (*8{p.code})" for name, p in config.rules.caller_id.purposes.items())
        raise ValueError(f"unknown purpose '{parsed.purpose_code or purpose}'; known: {known or 'none'}")
    decision = decide(config, placer, purpose_id)
    department = config.departments.get(placer.department or "")
    return {
        "placer": placer.ident or "(the contact center's systems)",
        "placer_kind": placer.kind,
        "department": placer.department,
        "purpose": purpose_id,
        "to": mask_number(parsed.number),
        "decided_by": decision.decided_by,
        "asked": decision.shown,
        "shown": decision.effective,
        "callerid_num": decision.number,
        "callerid_name": decision.name,
        "callerid_pres": decision.presentation,
        "registered": decision.leads_back,
        "disclosure": department.disclosure if department else "none",
        "precall_notice": bool(department and department.precall_notice),
    }


def format_explanation(found: dict[str, Any]) -> list[str]:
    lines = [f"{found['placer']} ({found['placer_kind']}, {found['department'] or 'no department'}) calls "
             f"{found['to']}" + (f" about {found['purpose']}" if found["purpose"] else ""),
             f"decided by: {found['decided_by']}"]
    shown = found["shown"] if found["shown"] == found["asked"] else f"{found['shown']} (asked: {found['asked']})"
    lines.append(f"the citizen sees: {shown}: CALLERID(num)={found['callerid_num']} "
                 f"CALLERID(name)={found['callerid_name']!r} CALLERID(pres)={found['callerid_pres']}")
    if found["registered"]:
        lines.append(f"registered: yes (calling back reaches the contact center; disclosure {found['disclosure']})")
    else:
        lines.append("registered: no (calling back does not reach the contact center)")
    if found["precall_notice"]:
        lines.append("pre-call notice: published for the SMS gateway before the call")
    return lines
