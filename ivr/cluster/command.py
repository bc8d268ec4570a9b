"""`ivr reload --all`: a command on `ivr/<site>/cluster/reload` that every daemon subscribes to.

Who may publish there is the broker's business (its ACL: only the admins' MQTT user; see
docs/cluster-operations.md). Beyond that a daemon acts on a command only if it is fresh (not a
retained message, not older than MAX_AGE_S: a copy replayed later is ignored), at most once per
MIN_GAP_S, and, when the daemons have a shared IVR_CLUSTER_KEY, only if it carries that key's
HMAC. A reload only makes the daemon read its own config files again, which it checks and keeps
its last good config if they are broken: the command carries no configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from ivr.events.mqtt import MessageBuilder, OutMessage, iso_utc

MAX_AGE_S = 60.0
MIN_GAP_S = 5.0


def reload_topic(builder: MessageBuilder) -> str:
    return f"{builder.prefix}/cluster/reload"


def _signature(key: bytes, requested_at: float, by: str, nonce: str) -> str:
    return hmac.new(key, f"reload|{requested_at:.3f}|{by}|{nonce}".encode(), hashlib.sha256).hexdigest()


def reload_command(builder: MessageBuilder, *, by: str, key: bytes = b"", now: float | None = None,
                   nonce: str = "") -> OutMessage:
    at = time.time() if now is None else now
    body = {"command": "reload", "requested_at": round(at, 3), "at": iso_utc(at), "by": by[:100], "nonce": nonce}
    if key:
        body["hmac"] = _signature(key, round(at, 3), by[:100], nonce)
    return OutMessage(reload_topic(builder), json.dumps(body).encode(), qos=1, retain=False)


@dataclass
class ReloadGate:
    """Decides whether a received reload command is acted upon."""

    key: bytes = b""
    last_accepted: float = float("-inf")

    def accept(self, payload: bytes, *, retained: bool, now: float) -> tuple[bool, str]:
        if retained:
            return False, "retained"
        try:
            body = json.loads(payload)
            at, by, nonce = float(body["requested_at"]), str(body.get("by", ""))[:100], str(body.get("nonce", ""))
            if body.get("command") != "reload":
                return False, "not a reload"
        except (ValueError, KeyError, TypeError):
            return False, "malformed"
        if abs(now - at) > MAX_AGE_S:
            return False, "too old"
        if self.key and not hmac.compare_digest(str(body.get("hmac", "")), _signature(self.key, at, by, nonce)):
            return False, "bad signature"
        if now - self.last_accepted < MIN_GAP_S:
            return False, "too soon"
        self.last_accepted = now
        return True, by
