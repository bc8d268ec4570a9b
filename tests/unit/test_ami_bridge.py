"""AMI → product events: the bridge fed scripted AMI messages (as panoramisk Messages)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from panoramisk.message import Message

from ivr.ami.reply import AmiReply
from ivr.events import names
from ivr.events.sink import MemorySink
from ivr.live.ami_bridge import AmiBridge
from ivr.live.queue_view import QueueView
from ivr.privacy import NumberHasher
from ivr.testing.fake_ami import FakeAmi

CALLER = "+46701234567"
HASHER = NumberHasher(b"k" * 32)


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ami(event: str, **headers: Any) -> Message:
    return Message({"Event": event, **{k.replace("_", "-"): str(v) for k, v in headers.items()}})


def flow(sink: MemorySink, *skip: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e, d) for e, _, d in sink.events if e not in skip]


def make() -> tuple[AmiBridge, MemorySink, Clock]:
    sink, clock = MemorySink(), Clock()
    return AmiBridge(sink, hasher=HASHER, clock=clock), sink, clock


def member(queue: str, name: str, status: int, paused: str = "0", **extra: Any) -> Message:
    ext = name.split()[-1]
    return ami("QueueMemberStatus", Queue=queue, MemberName=name, Interface=f"Local/{ext}@agent-sim/n",
               Status=status, Paused=paused, InCall="0", **extra)


def test_answered_call_flow() -> None:
    bridge, sink, clock = make()
    bridge.on_member(member("kc-school", "Agent 2001", 1))
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-school", Uniqueid="u1", Position=1, CallerIDNum=CALLER))
    clock.now += 12
    bridge.on_agent_called(ami("AgentCalled", Queue="kc-school", Uniqueid="u1", MemberName="Agent 2001",
                               Interface="Local/2001@agent-sim/n"))
    bridge.on_agent_connect(ami("AgentConnect", Queue="kc-school", Uniqueid="u1", MemberName="Agent 2001",
                                Interface="Local/2001@agent-sim/n", HoldTime=12, RingTime=1))
    bridge.on_leave(ami("QueueCallerLeave", Queue="kc-school", Uniqueid="u1", Position=1))
    clock.now += 40
    bridge.on_agent_complete(ami("AgentComplete", Queue="kc-school", Uniqueid="u1", MemberName="Agent 2001",
                                 Interface="Local/2001@agent-sim/n", HoldTime=12, TalkTime=40, Reason="caller"))
    bridge.on_hangup(ami("Hangup", Uniqueid="u1", Cause_txt="Normal Clearing"))
    events = flow(sink, names.QUEUE_SNAPSHOT)
    assert [e for e, _ in events] == ["agent_state", "queued", "agent_state", "agent_ringing", "answered",
                                      "agent_state", "agent_state", "call_ended"]
    assert events[3][1] == {"uniqueid": "u1", "queue": "kc-school", "agent": "Agent 2001"}
    assert events[1][1] == {"uniqueid": "u1", "queue": "kc-school", "position": 1,
                            "caller_ref": HASHER.short(CALLER)}
    assert [d["state"] for e, d in events if e == "agent_state"] == ["available", "ringing", "busy", "available"]
    assert events[4][1] == {"uniqueid": "u1", "queue": "kc-school", "agent": "Agent 2001", "wait_s": 12.0,
                            "ring_s": 1.0}
    assert events[-1][1] == {"uniqueid": "u1", "duration_s": 52.0, "cause": "Normal Clearing", "talk_s": 40.0}
    assert CALLER not in repr(sink.events)


def test_a_callback_standin_ringing_an_agent_says_which_callback() -> None:
    bridge, sink, _ = make()
    standin = "Local/cb42@ivr-callback-hold-00000012;2"
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-general", Uniqueid="s1", Position=1, Channel=standin))
    bridge.on_agent_called(ami("AgentCalled", Queue="kc-general", Uniqueid="s1", Channel=standin,
                               MemberName="anna.andersson", Interface="PJSIP/1001"))
    events = flow(sink, names.QUEUE_SNAPSHOT, names.AGENT_STATE)
    assert events == [("agent_ringing", {"uniqueid": "s1", "queue": "kc-general", "agent": "anna.andersson",
                                         "callback_id": 42})]


def test_leaving_caller_moves_the_others_up() -> None:
    bridge, sink, _ = make()
    for i in (1, 2, 3):
        bridge.on_join(ami("QueueCallerJoin", Queue="kc-general", Uniqueid=f"u{i}", Position=i, CallerIDNum=CALLER))
    bridge.on_abandon(ami("QueueCallerAbandon", Queue="kc-general", Uniqueid="u1", Position=1,
                          OriginalPosition=1, HoldTime=7))
    bridge.on_leave(ami("QueueCallerLeave", Queue="kc-general", Uniqueid="u1", Position=1))
    events = flow(sink, names.QUEUE_SNAPSHOT, names.QUEUED)
    assert events == [
        ("abandoned", {"uniqueid": "u1", "queue": "kc-general", "wait_s": 7.0, "position": 1, "original_position": 1}),
        ("position_changed", {"uniqueid": "u2", "queue": "kc-general", "position": 1}),
        ("position_changed", {"uniqueid": "u3", "queue": "kc-general", "position": 2}),
    ]
    snapshot = [d for e, _, d in sink.events if e == names.QUEUE_SNAPSHOT][-1]
    assert snapshot["waiting"] == 2
    assert [c["uniqueid"] for c in snapshot["callers"]] == ["u2", "u3"]


def test_snapshot_counts_agents_by_state_and_longest_wait() -> None:
    bridge, sink, clock = make()
    bridge.on_member(member("kc-general", "Agent 1001", 1))
    bridge.on_member(member("kc-general", "Agent 1002", 1, paused="1", PausedReason="lunch"))
    bridge.on_member(member("kc-general", "Agent 1003", 5))
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-general", Uniqueid="u1", Position=1))
    clock.now += 30
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-general", Uniqueid="u2", Position=2))
    snapshot = sink.events[-1][2]
    assert snapshot["agents"] == {"available": 1, "ringing": 0, "busy": 0, "wrapup": 0, "paused": 1,
                                  "unavailable": 1}
    assert (snapshot["waiting"], snapshot["longest_wait_s"]) == (2, 30.0)
    paused = [d for e, _, d in sink.events if e == names.AGENT_STATE and d["agent"] == "Agent 1002"]
    assert paused == [{"agent": "Agent 1002", "state": "paused", "reason": "lunch", "queues": ["kc-general"]}]


def test_wrapup_is_a_state_until_it_runs_out() -> None:
    view = QueueView()
    view.set_member("q", "Local/1@x", name="A", status=1, wrapup_s=5.0)
    view.connect("Local/1@x")
    assert view.agent_state("A", 100.0)["state"] == "busy"  # type: ignore[index]
    view.complete("Local/1@x", 100.0)
    assert view.agent_state("A", 104.0)["state"] == "wrapup"  # type: ignore[index]
    assert view.agent_state("A", 105.0)["state"] == "available"  # type: ignore[index]


def test_agent_in_two_queues_busy_wins_over_paused() -> None:
    view = QueueView()
    view.set_member("q1", "Local/1@x", name="A", status=1, paused=True)
    view.set_member("q2", "Local/1@x", name="A", status=2)
    assert view.agent_state("A", 0.0) == {"agent": "A", "state": "busy", "reason": "", "queues": ["q1", "q2"]}


def test_hangup_of_unknown_channel_is_ignored_and_of_ivr_call_ends_it() -> None:
    bridge, sink, clock = make()
    bridge.on_hangup(ami("Hangup", Uniqueid="agent-leg"))
    assert sink.events == []

    class Call:
        uniqueid = "u9"
        started = clock.now
        caller_ref = ""

    bridge.emit(names.CALL_STARTED, Call())  # type: ignore[arg-type]
    clock.now += 9.5
    bridge.on_hangup(ami("Hangup", Uniqueid="u9", Cause_txt="Normal Clearing"))
    assert sink.events == [("call_ended", None, {"uniqueid": "u9", "duration_s": 9.5, "cause": "Normal Clearing"})]
    bridge.on_hangup(ami("Hangup", Uniqueid="u9"))  # a second hang-up event is not a second end
    assert len(sink.events) == 1


def test_withheld_caller_of_the_ivr_is_queued_without_a_reference() -> None:
    """A withheld call from the operator carries the network's number in CallerIDNum; the IVR knew it
    was withheld (ActiveCall.caller_ref ""), so the queue events name no one. A call the IVR did not
    take still gets its reference from AMI."""
    bridge, sink, clock = make()

    class Call:
        uniqueid, started, caller_ref = "u1", clock.now, ""

    bridge.emit(names.CALL_STARTED, Call())  # type: ignore[arg-type]
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-general", Uniqueid="u1", Position=1, CallerIDNum=CALLER))
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-general", Uniqueid="u2", Position=2, CallerIDNum=CALLER))
    queued = {d["uniqueid"]: d for e, _, d in sink.events if e == names.QUEUED}
    assert queued["u1"]["caller_ref"] == ""
    assert queued["u2"]["caller_ref"] == HASHER.short(CALLER)
    assert [c.caller_ref for c in bridge.view.queues["kc-general"].callers.values()] == ["", HASHER.short(CALLER)]


def test_calls_never_seen_hanging_up_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ivr.live.ami_bridge._TRACK_LIMIT_CALLS", 3)
    bridge, sink, clock = make()

    class Call:
        def __init__(self, uniqueid: str) -> None:
            self.uniqueid, self.started, self.caller_ref = uniqueid, clock.now, ""

    for uniqueid in ("u1", "u2", "u3", "u4"):  # AMI is down: no Hangup ever comes for these
        bridge.emit(names.CALL_STARTED, Call(uniqueid))  # type: ignore[arg-type]
    bridge.on_hangup(ami("Hangup", Uniqueid="u1"))  # forgotten: the oldest went first
    bridge.on_hangup(ami("Hangup", Uniqueid="u4"))
    assert [data["uniqueid"] for event, _, data in sink.events if event == "call_ended"] == ["u4"]


def test_user_events_from_the_dialplan() -> None:
    bridge, sink, _ = make()
    bridge.on_user_event(ami("UserEvent", UserEvent="IvrTransferred", Uniqueid="u1", Target="+4640100000"))
    bridge.on_user_event(ami("UserEvent", UserEvent="IvrCallbackRequested", Uniqueid="u2", Queue="kc-school",
                             CallbackID="cb-7"))
    bridge.on_user_event(ami("UserEvent", UserEvent="CallerSimDone", Uniqueid="u3"))
    assert flow(sink) == [("transferred", {"uniqueid": "u1", "target": "+4640100000"}),
                          ("callback_requested", {"uniqueid": "u2", "queue": "kc-school", "callback_id": "cb-7"})]


async def test_reconnect_rebuilds_the_view_from_queue_status() -> None:
    bridge, sink, clock = make()
    # Before the reconnect the view believed in a caller that has since gone.
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-school", Uniqueid="gone", Position=1))
    status = [
        Message({"Response": "Success", "EventList": "start"}),
        ami("QueueParams", Queue="kc-school"), ami("QueueParams", Queue="kc-social"),
        ami("QueueMember", Queue="kc-school", Name="Agent 2001", Location="Local/2001@agent-sim/n", Status=1,
            Paused=0, InCall=0),
        ami("QueueMember", Queue="kc-social", Name="Agent 3001", Location="Local/3001@agent-sim/n", Status=2,
            Paused=0, InCall=1),
        ami("QueueEntry", Queue="kc-social", Position=1, Uniqueid="u5", CallerIDNum=CALLER, Wait=42),
        ami("QueueStatusComplete"),
    ]
    fake = FakeAmi()
    fake.answer("QueueStatus", AmiReply.of(status))  # as panoramisk hands over a list action's answer
    bridge.attach(fake)
    assert {"QueueCallerJoin", "AgentConnect", "Hangup", "QueueMemberPause"} <= fake.patterns
    sink.events.clear()
    await fake.reconnect()
    assert fake.actions == [{"Action": "QueueStatus"}]
    snapshots = {d["queue"]: d for e, _, d in sink.events if e == names.QUEUE_SNAPSHOT}
    assert snapshots["kc-school"]["waiting"] == 0
    assert snapshots["kc-social"]["callers"] == [{"uniqueid": "u5", "position": 1, "wait_s": 42.0}]
    states = {d["agent"]: d["state"] for e, _, d in sink.events if e == names.AGENT_STATE}
    assert states == {"Agent 2001": "available", "Agent 3001": "busy"}
    clock.now += 3
    bridge.on_hangup(ami("Hangup", Uniqueid="u5"))  # a caller found by the resync is tracked too
    assert sink.events[-1][0] == names.CALL_ENDED and sink.events[-1][2]["duration_s"] == 45.0


async def test_periodic_snapshots() -> None:
    sink = MemorySink()
    bridge = AmiBridge(sink, snapshot_every=0.01)
    bridge.view.queue("kc-general")
    await bridge.start()
    try:
        async def two() -> None:
            while sum(e == names.QUEUE_SNAPSHOT for e, _, _ in sink.events) < 2:
                await asyncio.sleep(0.01)  # the ticker's own period; nothing to await on

        await asyncio.wait_for(two(), 2)
    finally:
        await bridge.stop()
    assert sink.events[0][2]["queue"] == "kc-general"


def test_callback_stand_in_waits_in_the_snapshot_but_is_no_call() -> None:
    bridge, sink, _ = make()
    stand_in = {"Channel": "Local/cb17@ivr-callback-hold-00000009;2", "Queue": "kc-social", "Uniqueid": "s1"}
    bridge.on_member(member("kc-social", "Agent 3001", 1))
    bridge.on_join(ami("QueueCallerJoin", Position=1, **stand_in))
    bridge.on_join(ami("QueueCallerJoin", Queue="kc-social", Uniqueid="u2", Position=2, Channel="PJSIP/trunk-1"))
    bridge.on_agent_connect(ami("AgentConnect", MemberName="Agent 3001", Interface="Local/3001@agent-sim/n",
                                HoldTime=30, **stand_in))
    bridge.on_leave(ami("QueueCallerLeave", Position=1, **stand_in))
    bridge.on_hangup(ami("Hangup", Uniqueid="s1", Channel=stand_in["Channel"]))
    calls = [(e, d["uniqueid"]) for e, _, d in sink.events if "uniqueid" in d]
    assert calls == [("queued", "u2"), ("position_changed", "u2")]
    first_snapshot = [d for e, _, d in sink.events if e == names.QUEUE_SNAPSHOT][1]
    assert [c["uniqueid"] for c in first_snapshot["callers"]] == ["s1"]
    assert [d["state"] for e, _, d in sink.events if e == names.AGENT_STATE] == ["available", "busy"]


def test_a_ring_that_stops_unanswered_is_reported() -> None:
    bridge, sink, _ = make()
    bridge.on_ring_no_answer(ami("AgentRingNoAnswer", Queue="kc-school", Uniqueid="u1", MemberName="Agent 2001",
                                 Interface="Local/2001@agent-sim/n", RingTime=15000))  # ms
    assert flow(sink) == [("agent_ring_ended", {"uniqueid": "u1", "queue": "kc-school", "agent": "Agent 2001",
                                                "ring_s": 15.0})]
