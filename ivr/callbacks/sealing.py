"""The number to call back, sealed with AES-GCM: a keyed hash cannot be dialled, so the store keeps
the number encrypted with a key that lives outside it (IVR_CALLBACK_KEY or IVR_CALLBACK_KEY_FILE),
bound to its row (associated data), and deleted as soon as the callback is over."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ivr.keys import callback_key

_VERSION = "v1"


class SealError(Exception):
    """A sealed number could not be opened (another key, or tampered with)."""


class NumberSeal:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the callback key must be at least 16 bytes")
        # The configured secret may be any text; AES-256 needs exactly 32 bytes.
        self._aead = AESGCM(hashlib.sha256(b"ivr-callback-number\0" + secret).digest())

    @classmethod
    def from_environment(cls, state_dir: Path) -> NumberSeal:
        """IVR_CALLBACK_KEY, IVR_CALLBACK_KEY_FILE, else a generated key outside `state_dir` (ivr.keys)."""
        return cls(callback_key(state_dir))

    def seal(self, number: str, callback_id: int) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, number.encode(), _aad(callback_id))
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, callback_id: int) -> str:
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise SealError("unknown sealing version")
        try:
            raw = base64.b64decode(body, validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], _aad(callback_id)).decode()
        except (ValueError, InvalidTag) as exc:
            raise SealError("the number cannot be opened with this key") from exc


def _aad(callback_id: int) -> bytes:
    return f"callback:{callback_id}".encode()
