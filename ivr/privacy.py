"""Phone numbers are personal data: mask them for display, hash them (keyed) for look-ups."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

_NUMBER = re.compile(r"\+?\d[\d -]{5,}\d")


def mask_number(number: str) -> str:
    """'+46701234567' → '+467*******67': enough to tell calls apart by eye, not to call anyone."""
    digits = re.sub(r"[^\d+]", "", number or "")
    if not digits:
        return "(none)"
    if len(digits) <= 4:
        return "*" * len(digits)
    head = 4 if digits.startswith("+") else 3
    return digits[:head] + "*" * (len(digits) - head - 2) + digits[-2:]


def scrub_text(text: str) -> str:
    """Mask anything that looks like a phone number inside free text (a safety net for logs)."""
    return _NUMBER.sub(lambda m: mask_number(m.group(0)), text)


def looks_like_phone_number(digits: str) -> bool:
    """Keys a caller typed that could be a phone number in Swedish national or international form
    (0 + 7-9 digits, 00…, +…). Used to keep such input away from agents and the bus."""
    text = digits.strip()
    if text.startswith(("+", "00")):
        return True
    return text.startswith("0") and 8 <= len(text) <= 10


def normalise_number(number: str, *, country_code: str = "46") -> str:
    """Canonical E.164 so that the forms trunks present for one number hash the same:
    0701234567, +46701234567, 0046701234567, 46701234567 and 701234567 all give +46701234567."""
    digits = re.sub(r"[^\d+]", "", number or "")
    if not digits or digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return f"+{country_code}{digits[1:]}"
    if digits.startswith(country_code) and len(digits) >= 10:
        return "+" + digits  # international form without the plus
    if 7 <= len(digits) <= 9:
        return f"+{country_code}{digits}"  # national significant number without the trunk 0
    return "+" + digits


class NumberHasher:
    """HMAC-SHA256 of normalised numbers with a secret key: a look-up needs the number, the store holds none."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the hashing key must be at least 16 bytes")
        self._key = key

    def digest(self, number: str) -> str:
        canonical = normalise_number(number)
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()

    def short(self, number: str) -> str:
        """A short, stable reference for logs and events (correlation without the number)."""
        return self.digest(number)[:12]


def load_key(*, env_var: str = "IVR_HASH_KEY", file_var: str = "IVR_HASH_KEY_FILE",
             default_file: Path | None = None) -> bytes:
    """The key from the environment, or from a file that only its owner can read.

    With neither, a new random key is written to `default_file` (0600) so a development install works;
    production sets IVR_HASH_KEY_FILE to a key managed outside the repository.
    """
    if os.environ.get(env_var):
        return os.environ[env_var].encode()
    path_text = os.environ.get(file_var)
    path = Path(path_text) if path_text else default_file
    if path is None:
        raise RuntimeError(f"set {env_var} or {file_var}")
    if not path.exists():
        if path_text:
            raise RuntimeError(f"{file_var} names {path}, which does not exist")
        if not path.parent.exists():  # a folder made for a key is the owner's only, whatever the umask
            path.parent.mkdir(parents=True)
            path.parent.chmod(0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise RuntimeError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return path.read_text().strip().encode()
