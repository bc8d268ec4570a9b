"""Recordings at rest: AES-256-GCM (the `cryptography` package) with a key derived by HKDF from the
recording key file (IVR_RECORDING_KEY / IVR_RECORDING_KEY_FILE, else `<state>-keys/recording.key`).

A sealed file is MAGIC, a 12-byte random nonce, then the ciphertext and its tag. The recording's id is
authenticated with it (associated data): a file renamed to another recording's id does not open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"IVRREC1\n"
_NONCE = 12
_INFO = b"ivr recordings at rest v1"


class RecordingOpenError(ValueError):
    """The file is not a sealed recording, was altered, or was sealed with another key or id."""


class RecordingCipher:
    def __init__(self, key_material: bytes) -> None:
        if len(key_material) < 16:
            raise ValueError("the recording key must be at least 16 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key_material)
        self._aead = AESGCM(key)

    def seal(self, recording_id: str, clear: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return MAGIC + nonce + self._aead.encrypt(nonce, clear, MAGIC + recording_id.encode())

    def open(self, recording_id: str, sealed: bytes) -> bytes:
        if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + _NONCE + 16:
            raise RecordingOpenError("not a sealed recording")
        nonce = sealed[len(MAGIC):len(MAGIC) + _NONCE]
        try:
            return self._aead.decrypt(nonce, sealed[len(MAGIC) + _NONCE:], MAGIC + recording_id.encode())
        except InvalidTag as exc:
            raise RecordingOpenError("the recording does not open with this key (altered, or another key)") from exc
