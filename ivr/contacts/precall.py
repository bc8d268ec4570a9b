"""The pre-call notice: before an official of a department with `precall_notice: true` calls a citizen,
the daemon publishes a `precall_notice` event that the city's SMS gateway acts on.

The gateway needs the citizen's number; the event bus must never carry it in clear. The number is
therefore encrypted for the gateway alone (RSA-OAEP with SHA-256, the gateway's public key from
IVR_PRECALL_PUBLIC_KEY_FILE): the daemon holds no key that can read it back, every message has fresh
randomness so two notices to one number cannot be linked, and only the gateway's private key opens it.
The event also goes to a topic of its own (`ivr/<site>/events/precall_notice`) whose broker ACL lets
only the gateway subscribe. Without a public key no notice is published (logged once per call).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from structlog.typing import FilteringBoundLogger

from ivr.events import names
from ivr.events.sink import EventSink
from ivr.privacy import normalise_number

ALGORITHM = "RSA-OAEP-SHA256"
MIN_KEY_BITS = 3072


@dataclass(frozen=True)
class GatewayKey:
    """The SMS gateway's RSA public key."""

    key: rsa.RSAPublicKey
    key_id: str  # first 16 hex digits of the SHA-256 of the key (DER): tells the gateway which key

    @classmethod
    def from_pem(cls, data: bytes) -> GatewayKey:
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_KEY_BITS:
            raise ValueError(f"the SMS gateway's key must be an RSA public key of at least {MIN_KEY_BITS} bits")
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(key, hashlib.sha256(der).hexdigest()[:16])

    @classmethod
    def from_file(cls, path: Path) -> GatewayKey:
        return cls.from_pem(path.read_bytes())

    def seal(self, number: str) -> dict[str, str]:
        """The number in E.164, readable only with the gateway's private key."""
        ciphertext = self.key.encrypt(normalise_number(number).encode(), padding.OAEP(
            mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        return {"alg": ALGORITHM, "key_id": self.key_id, "ciphertext": base64.b64encode(ciphertext).decode()}


class PrecallNotifier:
    def __init__(self, events: EventSink, key: GatewayKey | None, *,
                 logger: FilteringBoundLogger | None = None) -> None:
        self.events = events
        self.key = key
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.contacts")

    def notify(self, *, number: str, department: str, shown_number: str | None, call_ref: str) -> bool:
        """Publish the notice; False (and a log line without the number) when it cannot be sent."""
        if self.key is None:
            self._log.warning("pre-call notice not sent: no SMS gateway key (IVR_PRECALL_PUBLIC_KEY_FILE)",
                              department=department)
            return False
        self.events.emit(names.PRECALL_NOTICE, None, department=department, shown_number=shown_number,
                         call_ref=call_ref, at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         recipient=self.key.seal(number))
        return True
