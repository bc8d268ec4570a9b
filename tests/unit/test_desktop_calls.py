"""DesktopCalls: the screen pop from product events, through the real DesktopHub to the right pages only,
with exactly the returning-caller fields each disclosure level allows, and never a number."""

from __future__ import annotations

import json
from typing import Any

import structlog

from ivr.calls import ActiveCall
from ivr.config import ConfigSet
from ivr.contacts.disclosure import agent_view
from ivr.contacts.store import Attempt
from ivr.desktop.calls import DesktopCalls, WrapupRefused
from ivr.desktop.hub import DesktopHub, Subscriber
from ivr.desktop.users import AGENT_SCOPES, SUPERVISOR_SCOPES, WebUser, agent_groups
from ivr.events import names
from ivr.live.queue_view import QueueView
from ivr.privacy import NumberHasher

NUMBER = "+46701234567"
HASHER = NumberHasher(b"k" * 32)
T0 = 1_793_000_000.0
PATH = ["welcome", "choose_language", "main_menu", "building_case", "queue_building"]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Desk:
    """DesktopCalls wired to a real hub with pages open for agents and a supervisor."""

    def __init__(self, config: ConfigSet, **kwargs: Any) -> None:
        self.config = config
        self.clock = Clock()
        self.hub = DesktopHub(lambda agent: agent_groups(config, agent))
        self.pages: dict[str, Subscriber] = {}
        for agent in ("david.lind", "emina.hodzic", "anna.andersson"):
            self.pages[agent] = self.hub.subscribe(
                WebUser(agent, agent, "agent", agent_groups(config, agent), AGENT_SCOPES))
        supervisor = config.supervisors["lena.strand"]
        self.pages["lena.strand"] = self.hub.subscribe(
            WebUser("lena.strand", supervisor.name, "supervisor", frozenset(supervisor.groups), SUPERVISOR_SCOPES))
        self.calls = DesktopCalls(lambda: config, self.hub, clock=self.clock, **kwargs)

    def received(self, who: str, kind: str = "screenpop") -> list[dict[str, Any]]:
        queue = self.pages[who].queue
        messages = [queue.get_nowait() for _ in range(queue.qsize())]
        return [data for got, data in messages if got == kind]


def active(uniqueid: str) -> ActiveCall:
    return ActiveCall(uniqueid=uniqueid, route="inbound", channel=f"PJSIP/trunk-{uniqueid}",
                      caller_masked="+467*******67", caller_ref=HASHER.short(NUMBER), caller_hash=HASHER.digest(NUMBER),
                      started=T0, log=structlog.get_logger())


def through_menu(desk: Desk, uniqueid: str, *, group: str = "building", queue: str = "kc-building",
                 digits: dict[str, str] | None = None, returning: dict[str, Any] | None = None,
                 repeat: bool = False) -> None:
    call = active(uniqueid)
    desk.calls.emit(names.CALL_STARTED, call, plan="main", dialled="4034100", caller_ref=call.caller_ref)
    if returning is not None:
        desk.calls.emit(names.RETURNING_CALLER, call, **returning)
    desk.calls.emit(names.MENU_FINISHED, call, outcome="queue", queue=queue, group=group, target=None, reason="",
                    language="en", tags={"department": "city_planning", "service": "building"}, nodes=PATH,
                    config_version="v1", digits=digits or {}, repeat_caller=repeat)
    desk.calls.emit(names.QUEUED, None, uniqueid=uniqueid, queue=queue, position=1, caller_ref=call.caller_ref)


def test_ring_answer_end_and_wrapup(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1", digits={"case_number": "20231234"}, repeat=True)
    desk.clock.now += 42
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    [ringing] = desk.received("david.lind")
    assert ringing == {
        "uniqueid": "u1", "kind": "call", "state": "ringing", "queue": "kc-building", "group": "building",
        "group_name": "Building permits and environment", "department": "city_planning",
        "department_name": "Stadsbyggnadskontoret", "language": "en", "path": PATH,
        "tags": {"department": "city_planning", "service": "building"}, "digits": {"case_number": "20231234"},
        "waited_s": 42.0, "repeat_caller": True, "returning": None,
        "wrapup": {"required": False, "submitted": None,
                   "codes": [{"code": c, "label": labels["sv"], "labels": dict(labels)}
                             for c, labels in shipped_config.groups["building"].wrapup_codes.items()]},
    }
    assert desk.calls.current("david.lind") == ringing
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="david.lind", wait_s=44.0)
    desk.calls.emit(names.CALL_ENDED, None, uniqueid="u1", duration_s=120.0, talk_s=60.0)
    assert [(p["state"], p["waited_s"]) for p in desk.received("david.lind")] == [("answered", 44.0),
                                                                                  ("wrapup", 44.0)]
    assert desk.calls.current("david.lind")["state"] == "wrapup"  # type: ignore[index]
    known, group = desk.calls.wrapup("david.lind", "u1", "resolved")
    assert (known.queue, group, known.wrapup_code) == ("kc-building", "building", "resolved")
    assert desk.received("david.lind")[-1]["state"] == "ended"
    assert desk.calls.current("david.lind") is None and "u1" not in desk.calls.calls


def test_another_agent_never_gets_the_pop_but_the_supervisor_of_the_group_does(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1", group="general", queue="kc-general")
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-general", agent="anna.andersson")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-general", agent="anna.andersson", wait_s=3.0)
    assert [p["state"] for p in desk.received("anna.andersson")] == ["ringing", "answered"]
    assert desk.received("emina.hodzic") == [] and desk.received("david.lind") == []
    assert [p["state"] for p in desk.received("lena.strand")] == ["ringing", "answered"]
    assert desk.calls.current("emina.hodzic") is None
    for other in ("emina.hodzic", "david.lind"):
        try:
            desk.calls.wrapup(other, "u1", "resolved")
        except WrapupRefused as refused:
            assert (refused.status, refused.code) == (404, "unknown_call")
        else:
            raise AssertionError("another agent's wrap-up was accepted")


def test_ringall_the_agent_who_did_not_answer_sees_the_pop_end(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1")
    for agent in ("david.lind", "emina.hodzic"):
        desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent=agent)
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="emina.hodzic", wait_s=5.0)
    assert [p["state"] for p in desk.received("david.lind")] == ["ringing", "ended"]
    assert [p["state"] for p in desk.received("emina.hodzic")] == ["ringing", "answered"]
    assert desk.calls.current("david.lind") is None
    assert desk.calls.current("emina.hodzic")["state"] == "answered"  # type: ignore[index]


def test_unanswered_call_is_forgotten_when_it_ends(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1")
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    desk.calls.emit(names.CALL_ENDED, None, uniqueid="u1", duration_s=30.0)
    assert [p["state"] for p in desk.received("david.lind")] == ["ringing", "ended"]
    assert desk.calls.calls == {} and desk.calls.current("david.lind") is None


def test_wrapup_code_must_be_one_of_the_group(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="david.lind", wait_s=5.0)
    try:
        desk.calls.wrapup("david.lind", "u1", "urgent_case")  # social's code, not building's
    except WrapupRefused as refused:
        assert (refused.status, refused.code) == (422, "unknown_code")
    else:
        raise AssertionError("a code of another group was accepted")


def attempt(department: str, placer: str, disclosure: str) -> Attempt:
    return Attempt(attempt_id="abcdefghijklmnopqrstuvwx", number_hash=HASHER.digest(NUMBER), attempted_at=T0 - 3600,
                   expires_at=T0 + 86400, placer_kind="official", placer=placer, department=department,
                   disclosure=disclosure, shown="main_number", purpose="follow_up")


def pop_for_returning(config: ConfigSet, department: str, placer: str) -> dict[str, Any]:
    desk = Desk(config)
    view = agent_view(config, attempt(department, placer, config.departments[department].disclosure),
                      offer="declined")
    through_menu(desk, "u1", returning=view)  # the inbound route publishes nothing for `none`
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    [pop] = desk.received("david.lind")
    return pop


def test_disclosure_person_shows_who_and_why(shipped_config: ConfigSet) -> None:
    assert shipped_config.departments["education"].disclosure == "person"
    assert pop_for_returning(shipped_config, "education", "johan.ek")["returning"] == {
        "department": "education", "department_name": "Förskola och skola",
        "attempted_at": "2026-10-26T06:33:20+00:00", "official": "Johan Ek", "purpose": "Uppföljning av ärende"}


def test_disclosure_department_shows_which_and_when_only(shipped_config: ConfigSet) -> None:
    assert shipped_config.departments["city_planning"].disclosure == "department"
    official = next(o for o, v in shipped_config.officials.items() if v.department == "city_planning")
    assert pop_for_returning(shipped_config, "city_planning", official)["returning"] == {
        "department": "city_planning", "department_name": "Stadsbyggnadskontoret",
        "attempted_at": "2026-10-26T06:33:20+00:00"}


def test_disclosure_none_shows_nothing_at_all(shipped_config: ConfigSet) -> None:
    assert shipped_config.departments["social_services"].disclosure == "none"
    pop = pop_for_returning(shipped_config, "social_services", "sara.nilsson")
    assert pop["returning"] is None
    text = json.dumps(pop, ensure_ascii=False)
    for trace in ("social_services", "Socialtjänsten", "sara", "Sara", "Nilsson", "returning_caller", "attempt"):
        assert trace not in text
    # Even an event that claims `none` but carries fields (a producer's bug) shows nothing.
    desk = Desk(shipped_config)
    through_menu(desk, "u2", returning={"disclosure": "none", "department": "social_services",
                                        "placer": "sara.nilsson", "attempted_at": "x"})
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u2", queue="kc-building", agent="david.lind")
    assert desk.received("david.lind")[0]["returning"] is None


def test_no_number_in_any_message(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    view = agent_view(shipped_config, attempt("education", "johan.ek", "person"), offer="accepted")
    through_menu(desk, "u1", returning=view, digits={"case_number": "20231234"})
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="david.lind", wait_s=5.0)
    desk.calls.emit(names.CALL_ENDED, None, uniqueid="u1", duration_s=30.0)
    sent = json.dumps([desk.received(who) for who in desk.pages]) + json.dumps(desk.calls.current("david.lind"))
    for secret in (NUMBER, NUMBER[3:], "0701234567", HASHER.short(NUMBER), HASHER.digest(NUMBER), "PJSIP/trunk"):
        assert secret not in sent


def test_callback_pop_carries_the_original_call(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1", digits={"case_number": "20231234"})
    desk.calls.emit(names.CALLBACK_REQUESTED, None, uniqueid="u1", callback_id="42", queue="kc-building")
    desk.calls.emit(names.CALL_ENDED, None, uniqueid="u1", duration_s=30.0)
    desk.clock.now += 600
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="s9", queue="kc-building", agent="david.lind", callback_id=42)
    desk.calls.emit(names.CALLBACK_PLACED, None, callback_id="42", queue="kc-building", attempt=1)
    ringing, answered = desk.received("david.lind")
    assert (ringing["kind"], ringing["callback_id"], ringing["state"]) == ("callback", 42, "ringing")
    assert ringing["digits"] == {"case_number": "20231234"} and ringing["path"] == PATH
    assert answered["state"] == "answered"
    assert desk.calls.wrapup("david.lind", "s9", "resolved")[1] == "building"


def test_memory_is_bounded(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config, limit=3, keep_s=60.0)
    for i in range(10):
        through_menu(desk, f"u{i}")
    assert list(desk.calls.calls) == ["u7", "u8", "u9"]
    desk.calls.emit(names.ANSWERED, None, uniqueid="u9", queue="kc-building", agent="david.lind", wait_s=1.0)
    desk.calls.emit(names.CALL_ENDED, None, uniqueid="u9", duration_s=30.0)
    desk.clock.now += 61  # a wrap-up code that never comes
    desk.calls.emit(names.QUEUED, None, uniqueid="u10", queue="kc-building", position=1)
    assert "u9" not in desk.calls.calls and desk.calls.current("david.lind") is None


def test_group_live_picture_goes_to_the_group_when_it_changes(shipped_config: ConfigSet) -> None:
    view = QueueView()
    view.join("kc-building", "u1", 1, T0 - 30, "")
    desk = Desk(shipped_config, view=lambda: view, callbacks_pending=lambda queue: 2 if queue == "kc-building" else 0)
    desk.calls.emit(names.QUEUE_SNAPSHOT, None, queue="kc-building", waiting=1)
    desk.calls.emit(names.QUEUE_SNAPSHOT, None, queue="kc-building", waiting=1)  # nothing changed: not sent again
    [live] = desk.received("david.lind", "group")
    assert live["group"] == "building" and live["waiting"] == 1 and live["longest_wait_s"] == 30.0
    assert live["callbacks_pending"] == 2
    assert desk.received("anna.andersson", "group") == []  # not her group


def test_disclosure_none_hides_the_returning_callers_path_too(shipped_config: ConfigSet) -> None:
    """A caller who took the offer comes through the `returning_caller` step; for `none` (no
    returning_caller event) the pop shows neither that step nor its service tag."""
    desk = Desk(shipped_config)
    for uniqueid, returning in (("u1", None), ("u2", agent_view(shipped_config, attempt(
            "city_planning", "lina.holm", "department"), offer="accepted"))):
        call = active(uniqueid)
        if returning is not None:
            desk.calls.emit(names.RETURNING_CALLER, call, **returning)
        desk.calls.emit(names.MENU_FINISHED, call, outcome="queue", queue="kc-building", group="building",
                        target=None, reason="returning caller", language="sv", tags={"service": "returning_caller"},
                        nodes=["returning_caller"], config_version="v1", digits={}, repeat_caller=False)
        desk.calls.emit(names.AGENT_RINGING, None, uniqueid=uniqueid, queue="kc-building", agent="david.lind")
    hidden, shown = desk.received("david.lind")
    assert (hidden["path"], hidden["tags"], hidden["returning"]) == ([], {}, None)
    assert "returning" not in json.dumps({k: v for k, v in hidden.items() if k != "returning"})
    assert (shown["path"], shown["tags"]) == (["returning_caller"], {"service": "returning_caller"})
    assert shown["returning"]["department"] == "city_planning"


def test_transfer_leaves_the_first_agent_in_wrapup_with_their_groups_codes(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1", digits={"case_number": "20231234"})
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="david.lind", wait_s=5.0)
    desk.calls.passing_on("david.lind", "u1")
    desk.calls.transferred("david.lind", "u1")
    desk.calls.emit(names.QUEUED, None, uniqueid="u1", queue="kc-general", position=1)
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-general", agent="anna.andersson")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-general", agent="anna.andersson", wait_s=9.0)
    david = desk.calls.current("david.lind")
    assert david is not None and (david["state"], david["group"]) == ("wrapup", "building")
    anna = desk.calls.current("anna.andersson")
    assert anna is not None and (anna["state"], anna["group"], anna["digits"]) == (
        "answered", "general", {"case_number": "20231234"})
    assert desk.calls.wrapup("david.lind", "u1", "resolved")[1] == "building"
    assert desk.calls.current("david.lind") is None and "u1" in desk.calls.calls  # anna still has it
    desk.calls.emit(names.CALL_ENDED, None, uniqueid="u1", duration_s=60.0)
    assert desk.calls.wrapup("anna.andersson", "u1", "information")[1] == "general"
    assert desk.calls.calls == {}


def test_a_transfer_overtaken_by_asterisks_events_keeps_the_first_agents_group(shipped_config: ConfigSet) -> None:
    """On a busy machine the caller joins the next queue, and is even answered there, before the transfer's
    AMI answer returns to the desktop: David still wraps up with building's codes, Anna keeps the call."""
    desk = Desk(shipped_config)
    through_menu(desk, "u1", digits={"case_number": "20231234"})
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="david.lind", wait_s=5.0)
    desk.calls.passing_on("david.lind", "u1")
    desk.calls.emit(names.QUEUED, None, uniqueid="u1", queue="kc-general", position=1)
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-general", agent="anna.andersson")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-general", agent="anna.andersson", wait_s=1.0)
    desk.calls.transferred("david.lind", "u1")  # the transfer's answer, last
    david = desk.calls.current("david.lind")
    assert david is not None and (david["state"], david["group"]) == ("wrapup", "building")
    anna = desk.calls.current("anna.andersson")
    assert anna is not None and (anna["state"], anna["group"]) == ("answered", "general")
    assert desk.calls.wrapup("david.lind", "u1", "resolved")[1] == "building"


def test_a_refused_transfer_leaves_the_call_with_the_agent(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1")
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="david.lind", wait_s=5.0)
    desk.calls.passing_on("david.lind", "u1")
    desk.calls.not_passed_on("david.lind", "u1")
    david = desk.calls.current("david.lind")
    assert david is not None and david["state"] == "answered"
    assert desk.calls.calls["u1"].transferred_by == set()


def test_a_ring_that_stops_unanswered_ends_that_agents_pop(shipped_config: ConfigSet) -> None:
    desk = Desk(shipped_config)
    through_menu(desk, "u1")
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="david.lind")
    desk.calls.emit(names.AGENT_RING_ENDED, None, uniqueid="u1", queue="kc-building", agent="david.lind", ring_s=15)
    assert [p["state"] for p in desk.received("david.lind")] == ["ringing", "ended"]
    assert desk.calls.current("david.lind") is None
    desk.calls.emit(names.AGENT_RINGING, None, uniqueid="u1", queue="kc-building", agent="emina.hodzic")
    desk.calls.emit(names.ANSWERED, None, uniqueid="u1", queue="kc-building", agent="emina.hodzic", wait_s=20.0)
    assert desk.received("david.lind") == []  # not told again
    assert desk.calls.current("emina.hodzic")["state"] == "answered"  # type: ignore[index]
