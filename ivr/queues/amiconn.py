"""A short-lived AMI connection for the command line (`ivr agents`, `ivr queues`, `ivr asterisk reload`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from ivr.ami.client import AmiClient
from ivr.settings import Settings


@contextlib.asynccontextmanager
async def cli_ami(settings: Settings) -> AsyncIterator[AmiClient]:
    """Logged in as the daemon's AMI user (IVR_AMI_* settings); closed on exit."""
    if not settings.ami_secret:
        raise RuntimeError("no AMI secret: set IVR_AMI_SECRET or IVR_AMI_SECRET_FILE")
    client = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, settings.ami_secret,
                       events="off", ping_interval=60.0)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()
