"""The operator's trunk with an account: Asterisk registers and authenticates its calls with the
password from pjsip_trunk_auth.conf, against a SIPp operator that challenges (401) and checks the
digest (tests/integration/sipp/operator_auth.xml, SIPp's verifyauth). The trunk is the generated
one (routing_rules.yaml's, on loopback) with `auth:` added, as harness/trunk.py installs it; the
official's phone placing the call is a Local channel, as in test_outbound_callerid.py."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from harness.ami import AmiClient
from harness.daemon import DaemonProcess
from harness.sandbox import Sandbox
from harness.sipp import SipMessage, Sipp, free_udp_port, render
from harness.trunk import operator_trunk
from test_outbound_callerid import MAIN, NAME, Case, assert_presentation, official, place

from ivr.config.model import TrunkAuth

pytestmark = pytest.mark.real_daemon

USERNAME = MAIN.lstrip("+")  # operators usually name the account by the main number


def operator(tmp_path: Path, password: str, calls: int) -> Sipp:
    """The operator on a port of its own (not OPERATOR_PORT): when the trunk is put back, Asterisk's
    un-REGISTER retransmits towards it for a while, and must not reach another test's operator."""
    return Sipp(render("operator_auth.xml", username=USERNAME, password=password), workdir=tmp_path / "operator",
                remote=None, port=free_udp_port(), calls=calls, timeout=90, name="operator-auth")


def digest_user(message: SipMessage) -> str | None:
    match = re.search(r'username="([^"]+)"', message.headers.get("Authorization") or "")
    return match[1] if match else None


async def test_the_trunk_registers_and_authenticates_its_calls(
        ami: AmiClient, daemon: DaemonProcess, asterisk: Sandbox, tmp_path: Path) -> None:
    password = secrets.token_urlsafe(12)
    sipp = operator(tmp_path, password, calls=2)  # register, call
    await sipp.start()
    try:
        with operator_trunk(asterisk, auth=TrunkAuth(username=USERNAME, registration=True), password=password,
                            port=sipp.port) as text:
            assert "outbound_auth = operator-auth" in text and password not in text
            ok = await sipp.wait_message(lambda m: m.direction == "sent" and m.status == 200
                                         and m.cseq_method == "REGISTER", 20, "the operator accepting the REGISTER")
            registers = [m for m in sipp.messages() if m.method == "REGISTER" and m.direction == "received"]
            assert [digest_user(m) for m in registers] == [None, USERNAME]  # challenged, then answered
            assert ok.headers.get("Call-ID") == registers[-1].headers.get("Call-ID")
            assert "Registered" in asterisk.cli("pjsip show registrations")

            case = Case("direct_line", "officials-outbound", "2101", "0701160001", "0701160001", official("2101")[0])
            call = await place(ami, case)
            await sipp.wait_message(lambda m: m.direction == "sent" and m.status == 200
                                    and m.cseq_method == "INVITE", 30, "the operator answering the INVITE")
            invites = [m for m in sipp.messages() if m.method == "INVITE" and m.direction == "received"]
            assert [digest_user(m) for m in invites] == [None, USERNAME]
            # The authenticated INVITE still carries exactly the policy's choice.
            assert_presentation(invites[-1], case, mode="pai", name=NAME)
            await call.wait_hangup(30)
    finally:
        sipp.kill()
        await sipp.wait(5)
    # Only the digest travels: the password never appears on the wire.
    assert password not in sipp.message_file.read_text(encoding="utf-8", errors="replace")
    assert not (asterisk.root / "etc" / "asterisk" / "pjsip_trunk_auth.conf").exists()  # restored


async def test_a_wrong_password_is_refused(ami: AmiClient, daemon: DaemonProcess, asterisk: Sandbox,
                                          tmp_path: Path) -> None:
    sipp = operator(tmp_path, "the-operators-password", calls=2)
    await sipp.start()
    try:
        with operator_trunk(asterisk, auth=TrunkAuth(username=USERNAME), password="not-the-password", port=sipp.port):
            case = Case("direct_line", "officials-outbound", "2101", "0701160002", "0701160002", official("2101")[0])
            call = await place(ami, case)
            await sipp.wait_message(lambda m: m.direction == "sent" and m.status == 403, 30, "the operator's 403")
            await call.wait_hangup(30)
    finally:
        sipp.kill()
        result = await sipp.wait(5)
    assert not [m for m in result.responses("INVITE", "sent") if m.status == 200]
    assert [digest_user(m) for m in result.requests("INVITE", "received")] == [None, USERNAME]
