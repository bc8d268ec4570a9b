"""What the FastAGI routes use of the contact registry (`App.contacts`)."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.contacts.precall import PrecallNotifier
from ivr.contacts.registry import ContactRegistry


@dataclass
class ContactServices:
    registry: ContactRegistry
    precall: PrecallNotifier
