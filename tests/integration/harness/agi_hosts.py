"""The dialplan's daemons (IVR_AGI_HOSTS, asterisk-config/extensions.conf [ivr-agi]) as a cluster's
extensions_daemons.conf sets them, with the first one down: a port nobody listens on first, then the
instance's own list. Every route then meets a refused connection (AGISTATUS FAILURE) before it reaches
the test's daemon, so a test sees the route go on to the next daemon. The global is restored after.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

from ivr.dialplan_variables import IVR_AGI_HOSTS

from .ami import AmiClient, AmiMessage


def dead_address() -> str:
    """127.0.0.1:<a port just free>, where nothing listens: a FastAGI connection there is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@contextlib.asynccontextmanager
async def first_daemon_down(ami: AmiClient) -> AsyncIterator[str]:
    """Inside: IVR_AGI_HOSTS is `<dead>&<as it was>`; yields the dead address."""
    dead = dead_address()
    saved = await ami.get_var(IVR_AGI_HOSTS) or ""
    await ami.set_global(IVR_AGI_HOSTS, f"{dead}&{saved}")
    try:
        yield dead
    finally:
        await ami.set_global(IVR_AGI_HOSTS, saved)


def agi_tries(events: list[AmiMessage], route: str) -> list[tuple[str, str]]:
    """One channel's AGI() runs whose URL ends with `/<route>` (with its arguments, e.g.
    "callback,request") and how each ended (AGISTATUS), in order."""
    tries: list[tuple[str, str]] = []
    url = ""
    for e in events:
        if e.Event == "Newexten" and e.Application == "AGI":
            url = e.AppData or ""
        elif e.Event == "VarSet" and e.Variable == "AGISTATUS" and url.endswith(f"/{route}"):
            tries.append((url, e.Value or ""))
            url = ""
    return tries
