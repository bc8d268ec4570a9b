"""Apply regenerated queue and phone configuration to a running Asterisk.

`QueueReload` with Parameters, Rules and Members re-reads queues.conf and queuerules.conf in place:
queue entries (waiting callers, with their positions and wait times) are untouched, and only
*static* members are re-read - agents who logged in (dynamic members) stay logged in, paused or
not. A queue that disappears from the file is removed once nobody waits in it.
Phones: `Reload` of res_pjsip re-reads pjsip.conf (and pjsip_agents*.conf) without dropping calls.
Dialplan: `Reload` of pbx_config re-reads extensions.conf and the generated caller-ID table
(extensions_callerid.conf); calls in progress keep running.
`Reload` needs the AMI class `system`, which the daemon's login does not hold: this runs as the
separate admin login (IVR_AMI_ADMIN_USER / IVR_AMI_ADMIN_SECRET, manager.conf [ivr-admin]).
"""

from __future__ import annotations

from ivr.ami.port import AmiPort


async def reload_asterisk(ami: AmiPort) -> list[str]:
    """`ami` is logged in as the admin login (ivr.cli.amiconn.cli_ami with admin=True)."""
    report = []
    queues = await ami.action({"Action": "QueueReload", "Members": "yes", "Rules": "yes", "Parameters": "yes"})
    if not queues.ok:
        raise RuntimeError(f"QueueReload refused: {queues.message}")
    report.append("queues: reloaded (waiting callers and logged-in agents kept)")
    phones = await ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    report.append("phones: reloaded" if phones.ok else f"phones: not reloaded ({phones.message})")
    dialplan = await ami.action({"Action": "Reload", "Module": "pbx_config.so"})
    report.append("dialplan (caller-ID table): reloaded" if dialplan.ok
                  else f"dialplan (caller-ID table): not reloaded ({dialplan.message})")
    return report
