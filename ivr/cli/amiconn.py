"""A short-lived AMI connection for the command line (`ivr agents`, `ivr queues`, `ivr asterisk reload`)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator

import structlog

from ivr.ami.client import AmiClient
from ivr.settings import Settings


@contextlib.asynccontextmanager
async def cli_ami(settings: Settings, *, admin: bool = False) -> AsyncIterator[AmiClient]:
    """Logged in as the daemon's AMI user (IVR_AMI_* settings), or with `admin` as the reload login
    (IVR_AMI_ADMIN_*); closed on exit."""
    user, secret, name = ((settings.ami_admin_user, settings.ami_admin_secret, "IVR_AMI_ADMIN_SECRET") if admin
                          else (settings.ami_user, settings.ami_secret, "IVR_AMI_SECRET"))
    if not secret:
        raise RuntimeError(f"no AMI secret: set {name} or {name}_FILE")
    # Only warnings, and on stderr: stdout is the command's output (`--json` included).
    logger = structlog.wrap_logger(structlog.PrintLogger(file=sys.stderr),
                                   wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                                   processors=[structlog.processors.add_log_level,
                                               structlog.dev.ConsoleRenderer(colors=False)])
    client = AmiClient(settings.ami_host, settings.ami_port, user, secret,
                       events="off", ping_interval=60.0, logger=logger)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()
