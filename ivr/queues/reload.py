"""Apply regenerated queue and phone configuration to a running Asterisk.

`QueueReload` with Parameters, Rules and Members re-reads queues.conf and queuerules.conf in place:
queue entries (waiting callers, with their positions and wait times) are untouched, and only
*static* members are re-read - agents who logged in (dynamic members) stay logged in, paused or
not. A queue that disappears from the file is removed once nobody waits in it.
Phones: `Reload` of res_pjsip re-reads pjsip.conf (and pjsip_agents*.conf) without dropping calls.
"""

from __future__ import annotations

from typing import Any

from ivr.queues.amiconn import cli_ami
from ivr.settings import Settings


def _ok(answer: Any) -> bool:
    first = answer[0] if isinstance(answer, list) else answer
    return str(first.get("Response", "")).lower() == "success"


async def reload_asterisk(settings: Settings) -> list[str]:
    report = []
    async with cli_ami(settings) as ami:
        queues = await ami.action({"Action": "QueueReload", "Members": "yes", "Rules": "yes", "Parameters": "yes"})
        if not _ok(queues):
            raise RuntimeError(f"QueueReload refused: {queues.get('Message', '')}")
        report.append("queues: reloaded (waiting callers and logged-in agents kept)")
        phones = await ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
        report.append("phones: reloaded" if _ok(phones) else f"phones: not reloaded ({phones.get('Message', '')})")
    return report
