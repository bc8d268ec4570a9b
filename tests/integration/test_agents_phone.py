"""Feature codes dialled from a real PJSIP softphone: the sandbox calls itself over SIP as agent
1006's phone (authenticating with that phone's password), so the call arrives in [agent-phones]
exactly as a desk phone's would, and the daemon knows the agent by the authenticated endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.ami import AmiClient
from harness.loop_phone import loop_phone
from harness.sandbox import Sandbox
from test_queues_agents import daemon, logged_out, members  # noqa: F401 (fixtures)

pytestmark = pytest.mark.in_process_daemon


@pytest.fixture
def farahs_phone(asterisk: Sandbox) -> Iterator[str]:
    """A test endpoint that dials this Asterisk as agent 1006's phone would."""
    with loop_phone(asterisk, "1006", "agent-phones") as endpoint:
        yield endpoint


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
