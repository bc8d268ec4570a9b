"""The dialplan's table for when the daemon is down: one entry per phone.

For every official's and agent's extension, the decision the daemon would make for a call without a
purpose, as `<CALLERID(pres)>:<CALLERID(num)>` (e.g. `allowed_not_screened:+4640342101`).
`ivr asterisk generate` writes it into extensions_callerid.conf (ivr.asterisk_gen.callerid), which
the dialplan's [ivr-outbound-fallback] reads when the daemon does not answer, so a call still shows
the board's default (the official's direct line), and a withheld official stays withheld.
"""

from __future__ import annotations

from ivr.callerid.directory import identify
from ivr.callerid.policy import decide
from ivr.config.loader import ConfigSet


def fallback_entries(config: ConfigSet) -> dict[str, str]:
    """extension -> "pres:number" for every known phone."""
    extensions = [o.extension for o in config.officials.values()] + [a.extension for a in config.agents.values()]
    entries: dict[str, str] = {}
    for extension in extensions:
        placer = identify(config, extension)
        if placer is not None:
            decision = decide(config, placer)
            entries[extension] = f"{decision.presentation}:{decision.number}"
    return entries
