"""What agents may learn of an earlier attempt (disclosure none / department / person), and the SMS
gateway's pre-call notice: the number sealed for the gateway's key, never in clear on the bus."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ivr.config import ConfigSet
from ivr.contacts.disclosure import agent_view, effective_level
from ivr.contacts.precall import GatewayKey, PrecallNotifier
from ivr.contacts.store import Attempt
from ivr.events import names
from ivr.events.mqtt import MessageBuilder
from ivr.events.sink import MemorySink

T0 = 1_793_000_000.0


def attempt(department: str, disclosure: str, *, placer: str = "johan.ek", purpose: str | None = "callback",
            kind: str = "official") -> Attempt:
    return Attempt(attempt_id="abcdefghijklmnopqrstuvwx", number_hash="0" * 64, attempted_at=T0, expires_at=T0 + 1,
                   placer_kind=kind, placer=placer, department=department, disclosure=disclosure,
                   shown="main_number", purpose=purpose, outcome="busy")


def with_disclosure(config: ConfigSet, department: str, level: str) -> ConfigSet:
    changed = config.departments[department].model_copy(update={"disclosure": level})
    return dataclasses.replace(config, departments={**config.departments, department: changed})


def test_none_publishes_nothing(shipped_config: ConfigSet) -> None:
    assert shipped_config.departments["social_services"].disclosure == "none"
    assert agent_view(shipped_config, attempt("social_services", "none", placer="sara.nilsson"),
                      offer="accepted") is None


def test_department_level_tells_the_department_and_when_only(shipped_config: ConfigSet) -> None:
    view = agent_view(shipped_config, attempt("city_planning", "department", placer="lina.holm"), offer="declined")
    assert view == {"disclosure": "department", "department": "city_planning",
                    "department_name": "Stadsbyggnadskontoret", "attempted_at": "2026-10-26T07:33:20+00:00",
                    "offer": "declined"}


def test_person_level_tells_who_and_why(shipped_config: ConfigSet) -> None:
    view = agent_view(shipped_config, attempt("education", "person"), offer="accepted")
    assert view is not None
    assert (view["placer"], view["placer_name"], view["purpose"], view["purpose_label"]) == \
        ("johan.ek", "Johan Ek", "callback", "Återuppringning")
    agent = agent_view(shipped_config, attempt("contact_center", "person", placer="anna.andersson", kind="agent",
                                               purpose=None), offer="accepted")
    assert agent is not None and agent["placer_name"] == "Anna Andersson" and agent["purpose_label"] == ""


@pytest.mark.parametrize(("stored", "now", "expected"), [
    ("person", "department", "department"), ("person", "none", "none"), ("department", "person", "department"),
    ("none", "person", "none"), ("from-the-future", "person", "none"),
])
def test_the_stricter_of_then_and_now_applies(shipped_config: ConfigSet, stored: str, now: str,
                                              expected: str) -> None:
    config = with_disclosure(shipped_config, "education", now)
    assert effective_level(config, attempt("education", stored)) == expected


def test_unknown_department_discloses_nothing(shipped_config: ConfigSet) -> None:
    assert agent_view(shipped_config, attempt("abolished", "person"), offer="accepted") is None


# --- the pre-call notice ------------------------------------------------------------------------

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=3072)
PUBLIC_PEM = PRIVATE.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)


def open_sealed(sealed: dict[str, str]) -> str:
    """What the gateway does with its private key."""
    return PRIVATE.decrypt(base64.b64decode(sealed["ciphertext"]), padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)).decode()


def test_sealed_number_opens_only_with_the_gateways_key() -> None:
    key = GatewayKey.from_pem(PUBLIC_PEM)
    first, second = key.seal("0701234567"), key.seal("0701234567")
    assert first["alg"] == "RSA-OAEP-SHA256" and first["key_id"] == key.key_id and len(key.key_id) == 16
    assert first["ciphertext"] != second["ciphertext"]  # fresh randomness: two notices cannot be linked
    assert open_sealed(first) == open_sealed(second) == "+46701234567"
    assert "701234567" not in json.dumps(first)


def test_weak_or_wrong_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(ValueError, match="3072"):
        GatewayKey.from_pem(small.public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo))


def test_notice_goes_to_its_own_topic_without_the_number() -> None:
    sink = MemorySink()
    notifier = PrecallNotifier(sink, GatewayKey.from_pem(PUBLIC_PEM))
    assert notifier.notify(number="+46701234567", department="social_services", shown_number="+4640342101",
                           call_ref="sim-1")
    [(event, uniqueid, data)] = sink.events
    assert (event, uniqueid) == (names.PRECALL_NOTICE, None)
    message = MessageBuilder("malmo").build(event, None, data)
    assert message.topic == "ivr/malmo/events/precall_notice" and message.qos == 1 and not message.retain
    payload = json.loads(message.payload)
    assert payload["data"]["department"] == "social_services"
    assert payload["data"]["shown_number"] == "+4640342101"
    assert open_sealed(payload["data"]["recipient"]) == "+46701234567"
    assert b"701234567" not in message.payload


def test_without_a_gateway_key_nothing_is_published() -> None:
    sink = MemorySink()
    assert not PrecallNotifier(sink, None).notify(number="+46701234567", department="social_services",
                                                  shown_number=None, call_ref="sim-1")
    assert sink.events == []
