"""Feature codes dialled from a real PJSIP softphone: the sandbox calls itself over SIP as agent
1006's phone (authenticating with that phone's password), so the call arrives in [agent-phones]
exactly as a desk phone's would, and the daemon knows the agent by the authenticated endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.ami import AmiClient
from harness.ports import SIP_PORT
from harness.sandbox import Sandbox
from test_queues_agents import daemon, logged_out, members  # noqa: F401 (fixtures)

from ivr.asterisk_gen.pjsip import auth_name, write_passwords
from ivr.validate import load_config

pytestmark = pytest.mark.in_process_daemon

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def farahs_phone(asterisk: Sandbox) -> Iterator[str]:
    """Passwords for the agent phones (as `ivr asterisk passwords` writes them in production) and a
    test endpoint that dials this Asterisk as phone 1006 would; removed again afterwards."""
    auth = asterisk.root / "etc" / "asterisk" / "pjsip_agents_auth.conf"
    write_passwords(load_config([REPO]), auth)
    auth.write_text(auth.read_text() + f"""
; TEST ONLY: phone 1006 calling in, from the sandbox itself
[loop-1006]
type = endpoint
context = agent-phones
disallow = all
allow = alaw,ulaw
outbound_auth = {auth_name("1006")}
aors = loop-1006
from_user = 1006
[loop-1006]
type = aor
contact = sip:127.0.0.1:{SIP_PORT}
""")
    asterisk.cli("module reload res_pjsip.so")
    try:
        yield "loop-1006"
    finally:
        auth.unlink()
        asterisk.cli("module reload res_pjsip.so")


async def dial_from_phone(ami: AmiClient, endpoint: str, code: str) -> str:
    """Dial a feature code from the phone; returns what the daemon answered (IVR_AGENT_RESULT)."""
    since = ami.recorder.mark()
    await ami.action("Originate", Channel=f"PJSIP/{code}@{endpoint}", Application="Wait", Data="8", Async="true",
                     Timeout="10000")
    result = await ami.recorder.wait_for(lambda e: e.Event == "VarSet" and e.Variable == "IVR_AGENT_RESULT"
                                         and bool(e.Value), 20, since=since, what=f"the daemon's answer to {code}")
    phone = ami.recorder.first(lambda e: e.Event == "VarSet" and e.Variable == "IVR_AGENT_PHONE" and bool(e.Value),
                               since)
    assert phone is not None and phone.Value == "1006"  # the authenticated endpoint, not anything dialled
    await ami.recorder.wait_for(lambda e: e.Event == "Hangup" and (e.Channel or "").startswith("PJSIP/1006-"), 20,
                                since=since, what="the phone call ending")
    return result.Value or ""


@pytest.mark.usefixtures("daemon")  # the real daemon, in this process (test_queues_agents.py)
async def test_login_pause_unpause_logout_from_the_phone(ami: AmiClient, farahs_phone: str) -> None:
    assert await dial_from_phone(ami, farahs_phone, "*45") == "ok"
    joined = await members(ami, "farah.ali")
    assert sorted(joined) == ["kc-school", "kc-school-ar", "kc-social", "kc-social-ar", "kc-social-en"]

    assert await dial_from_phone(ami, farahs_phone, "*472") == "ok"  # pause: 2 = meeting
    paused = await members(ami, "farah.ali")
    assert {(m.Paused, m.PausedReason) for m in paused.values()} == {("1", "meeting")}

    assert await dial_from_phone(ami, farahs_phone, "*48") == "ok"
    assert {m.Paused for m in (await members(ami, "farah.ali")).values()} == {"0"}

    assert await dial_from_phone(ami, farahs_phone, "*46") == "ok"
    assert await members(ami, "farah.ali") == {}
