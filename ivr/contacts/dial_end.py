"""How an outbound dial ended, from the AMI UserEvent `IvrOutboundDone` (Attempt, DialStatus) that the
hangup handler [ivr-outbound-done] sends. A UserEvent costs the channel nothing: a FastAGI call in a
hangup handler would hold the channel until the daemon answered, and forever if the daemon hung."""

from __future__ import annotations

import re

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.ami.port import AmiPort
from ivr.ami.reply import AmiHeaders
from ivr.contacts.registry import ContactRegistry
from ivr.contacts.store import ATTEMPT_ID_PATTERN, outcome_of

USER_EVENT = "IvrOutboundDone"
_ATTEMPT_ID = re.compile(ATTEMPT_ID_PATTERN)
_DIALSTATUS = re.compile(r"^[A-Z]{2,20}$")


class DialEndListener:
    def __init__(self, registry: ContactRegistry, logger: FilteringBoundLogger | None = None) -> None:
        self.registry = registry
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.contacts")

    def attach(self, ami: AmiPort) -> None:
        ami.on_event("UserEvent", self.on_user_event)

    def on_user_event(self, message: AmiHeaders) -> None:
        if str(message.get("UserEvent", "")) != USER_EVENT:
            return
        attempt_id, status = str(message.get("Attempt", "")), str(message.get("DialStatus", ""))
        if not _ATTEMPT_ID.fullmatch(attempt_id):
            self._log.warning("dial end without a valid attempt id ignored")
            return
        status = status if _DIALSTATUS.fullmatch(status) else ""
        self.registry.finish(attempt_id, status)
        self._log.info("outbound call ended", uniqueid=str(message.get("Uniqueid", "")), attempt=attempt_id,
                       outcome=outcome_of(status))
