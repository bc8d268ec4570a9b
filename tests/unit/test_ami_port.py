"""The typed AMI seam: `AmiReply` read from panoramisk's answers, and the in-memory `FakeAmi`."""

from __future__ import annotations

import pytest
from panoramisk.message import Message

from ivr.ami.errors import AmiNotConnected
from ivr.ami.port import AmiPort
from ivr.ami.reply import AmiHeaders, AmiReply, header
from ivr.testing.fake_ami import FakeAmi


def test_one_message_is_a_reply_without_events() -> None:
    reply = AmiReply.of(Message({"Response": "Error", "Message": "Unable to add interface: Already there"}))
    assert not reply.ok and reply.message == "Unable to add interface: Already there" and reply.events == ()


def test_a_list_answer_is_the_response_then_its_events() -> None:
    answer = [Message({"Response": "Success", "EventList": "start"}),
              Message({"Event": "CoreShowChannel", "Channel": "PJSIP/1001-00000001", "BridgeId": ""}),
              Message({"Event": "CoreShowChannelsComplete", "ListItems": "1"})]
    reply = AmiReply.of(answer)
    assert reply.ok and reply.get("EventList") == "start"
    assert [header(e, "Channel") for e in reply.named("CoreShowChannel")] == ["PJSIP/1001-00000001"]
    assert [header(m, "Event") or header(m, "Response") for m in reply.messages] == [
        "Success", "CoreShowChannel", "CoreShowChannelsComplete"]


def test_headers_read_as_panoramisk_has_them() -> None:
    message = Message({"Response": "success", "Output": ["one", "two"]})
    assert AmiReply.of(message).ok  # Asterisk's case varies
    assert header(message, "output") == "two"  # case-insensitive keys; a repeated header: its last value
    assert header(message, "Missing", "-") == "-"


async def test_the_fake_keeps_queue_members_as_app_queue_does() -> None:
    fake = FakeAmi()
    ami: AmiPort = fake  # used through the port, as the daemon does
    seen: list[AmiHeaders] = []
    ami.on_event("QueueMember*", seen.append)
    added = await ami.action({"Action": "QueueAdd", "Queue": "kc-school", "Interface": "PJSIP/1001",
                              "MemberName": "anna"})
    again = await ami.action({"Action": "QueueAdd", "Queue": "kc-school", "Interface": "PJSIP/1001",
                              "MemberName": "anna"})
    paused = await ami.action({"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true", "Reason": "lunch"})
    assert added.ok and not again.ok and "Already there" in again.message and paused.ok
    assert fake.members == {("kc-school", "PJSIP/1001"): {"MemberName": "anna", "Paused": "1", "PausedReason": "lunch"}}
    assert [header(e, "Event") for e in seen] == ["QueueMemberAdded", "QueueMemberPause"]
    status = await ami.action({"Action": "QueueStatus"})
    assert [header(e, "Name") for e in status.named("QueueMember")] == ["anna"]
    gone = await ami.action({"Action": "QueueRemove", "Queue": "kc-school", "Interface": "PJSIP/1001"})
    assert gone.ok and not fake.members and header(seen[-1], "Event") == "QueueMemberRemoved"


async def test_the_fake_refuses_when_not_connected() -> None:
    fake = FakeAmi(connected=False)
    with pytest.raises(AmiNotConnected):
        await fake.action({"Action": "Ping"})
    assert not fake.actions
