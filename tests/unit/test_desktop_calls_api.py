"""The call API (ivr/desktop/routes_calls.py) on the real desktop app (auth, store, hub, routes) with
product events fed as the daemon's would be, and the AMI actions it sends kept by the harness's FakeAmi:
an agent reads and acts only on their own calls; the wrap-up code is emitted as a `wrapup` event and
ends the wrap-up with one Originate of [ivr-desktop-wrapup-end] per queue; a transfer redirects the
caller's channel; a group's live picture only for one's own groups."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import ClientResponse, ClientSession, CookieJar

from ivr.calls import ActiveCall
from ivr.events import names
from ivr.events.sink import FanoutSink, MemorySink
from ivr.testing.desktop import PASSWORD, DesktopHarness, desktop

CHANNEL = "PJSIP/trunk-00000042"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[DesktopHarness]:
    async with desktop(tmp_path) as running:
        for user in ("anna.andersson", "david.lind"):
            running.set_password(user)
        yield running


async def signed_in(desk: DesktopHarness, user: str) -> tuple[ClientSession, dict[str, str]]:
    session = ClientSession(base_url=desk.client.make_url("/"), cookie_jar=CookieJar(unsafe=True))
    answer = await session.post("/api/v1/session", json={"username": user, "password": PASSWORD})
    assert answer.status == 200, await answer.text()
    headers = {"X-CSRF-Token": str((await answer.json())["csrf"])}
    assert (await session.post("/api/v1/agent/login", json={"device": "desk"}, headers=headers)).status == 200
    return session, headers


def call_reaches(desk: DesktopHarness, agent: str, *, queue: str = "kc-building", group: str = "building") -> None:
    """A call through the menu (case number keyed) rings `agent`, who answers; then it ends."""
    events = desk.ctx.app.events
    call = ActiveCall(uniqueid="1.1", route="inbound", channel=CHANNEL, caller_masked="+467*******67",
                      caller_ref="abc", caller_hash="d" * 64, started=0.0, log=structlog.get_logger())
    events.emit(names.CALL_STARTED, call, plan="main", dialled="4034100", caller_ref="abc")
    events.emit(names.MENU_FINISHED, call, outcome="queue", queue=queue, group=group, target=None, reason="",
                language="sv", tags={}, nodes=["welcome", "building_case"], config_version="v",
                digits={"case_number": "20231234"}, repeat_caller=False)
    events.emit(names.QUEUED, None, uniqueid="1.1", queue=queue, position=1)
    events.emit(names.AGENT_RINGING, None, uniqueid="1.1", queue=queue, agent=agent)
    events.emit(names.ANSWERED, None, uniqueid="1.1", queue=queue, agent=agent, wait_s=4.0)


async def test_only_the_agents_own_call_and_wrapup_ends_it_in_asterisk(desk: DesktopHarness) -> None:
    seen = MemorySink()
    assert isinstance(desk.ctx.app.events, FanoutSink)
    desk.ctx.app.events.add(seen)
    david, david_csrf = await signed_in(desk, "david.lind")
    anna, anna_csrf = await signed_in(desk, "anna.andersson")
    try:
        call_reaches(desk, "david.lind")
        answer = await david.get("/api/v1/agent/call")
        pop: dict[str, Any] = await answer.json()
        assert (answer.status, pop["state"], pop["digits"]) == (200, "answered", {"case_number": "20231234"})
        assert CHANNEL not in await answer.text()
        assert (await anna.get("/api/v1/agent/call")).status == 204
        refused = await anna.post("/api/v1/agent/calls/1.1/wrapup", json={"code": "resolved"}, headers=anna_csrf)
        assert (refused.status, (await refused.json())["error"]) == (404, "unknown_call")
        moved = await anna.post("/api/v1/agent/calls/1.1/transfer", json={"group": "general"}, headers=anna_csrf)
        assert moved.status == 404
        no_csrf = await david.post("/api/v1/agent/calls/1.1/wrapup", json={"code": "resolved"})
        assert no_csrf.status == 403
        bad = await david.post("/api/v1/agent/calls/1.1/wrapup", json={"code": "nope"}, headers=david_csrf)
        assert (bad.status, (await bad.json())["error"]) == (422, "unknown_code")
        desk.ctx.app.events.emit(names.CALL_ENDED, None, uniqueid="1.1", duration_s=60.0)
        desk.ami.actions.clear()
        done = await david.post("/api/v1/agent/calls/1.1/wrapup", json={"code": "resolved"}, headers=david_csrf)
        assert done.status == 200, await done.text()
        assert (await done.json())["wrapup_ended"] == ["kc-building", "kc-streets"]
        wrapups = [data for event, _, data in seen.events if event == names.WRAPUP]
        assert wrapups == [{"uniqueid": "1.1", "agent": "david.lind", "queue": "kc-building", "group": "building",
                            "code": "resolved"}]
        originates = [a for a in desk.ami.actions if a["Action"] == "Originate"]
        assert [a["Channel"] for a in originates] == ["Local/s@ivr-desktop-wrapup-end/n"] * 2
        assert "IVR_WU_QUEUE=kc-building" in originates[0]["Variable"]
        assert "IVR_WU_NAME=david.lind" in originates[0]["Variable"]
        assert (await david.get("/api/v1/agent/call")).status == 204
    finally:
        await david.close()
        await anna.close()


async def test_transfer_redirects_the_callers_channel(desk: DesktopHarness) -> None:
    david, csrf = await signed_in(desk, "david.lind")
    try:
        call_reaches(desk, "david.lind")
        desk.ami.actions.clear()
        unknown = await david.post("/api/v1/agent/calls/1.1/transfer", json={"group": "nowhere"}, headers=csrf)
        assert unknown.status == 404
        moved = await david.post("/api/v1/agent/calls/1.1/transfer", json={"official": "lina.holm"}, headers=csrf)
        assert moved.status == 200, await moved.text()
        sent = [(a["Action"], a.get("Variable", ""), a.get("Value", ""), a.get("Exten", "")) for a in desk.ami.actions]
        assert sent == [("Setvar", "IVR_TARGET", "+4640342103", ""),
                        ("Setvar", "IVR_TRANSFER_QUEUE", "kc-building", ""),
                        ("Redirect", "", "", "official")]
        assert all(a["Channel"] == CHANNEL for a in desk.ami.actions)
        pop = await (await david.get("/api/v1/agent/call")).json()
        assert pop["state"] == "wrapup"
    finally:
        await david.close()


async def test_group_live_only_for_ones_groups(desk: DesktopHarness) -> None:
    david, _ = await signed_in(desk, "david.lind")
    try:
        answer = await david.get("/api/v1/groups/building/live")
        live = await answer.json()
        assert answer.status == 200
        assert (live["group"], live["queues"], live["waiting"], live["callbacks_pending"]) == (
            "building", ["kc-building"], 0, 0)
        assert live["agents"]["available"] == 1  # David himself, logged in above
        assert (await david.get("/api/v1/groups/social/live")).status == 403
        assert (await david.get("/api/v1/groups/nowhere/live")).status == 404
    finally:
        await david.close()


async def stream_until(stream: ClientResponse, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The data of the first `kind` message on an open event stream (SSE)."""
    current = ""
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), timeout)).decode().rstrip("\n")
        if line.startswith("event: "):
            current = line.removeprefix("event: ")
        elif line.startswith("data: ") and current == kind:
            return dict(json.loads(line.removeprefix("data: ")))


async def test_pops_and_the_groups_picture_arrive_on_the_event_stream(desk: DesktopHarness) -> None:
    david, _ = await signed_in(desk, "david.lind")
    anna, _ = await signed_in(desk, "anna.andersson")
    try:
        async with david.get("/api/v1/events") as stream, anna.get("/api/v1/events") as other:
            await stream_until(stream, "state")
            call_reaches(desk, "david.lind")
            pop = await stream_until(stream, "screenpop")
            assert (pop["uniqueid"], pop["state"], pop["digits"]) == ("1.1", "ringing", {"case_number": "20231234"})
            desk.bridge.on_join({"Event": "QueueCallerJoin", "Queue": "kc-building", "Uniqueid": "2.2",
                                 "Position": "1"})
            live = await stream_until(stream, "group")
            assert (live["group"], live["waiting"]) == ("building", 1)
            with pytest.raises(TimeoutError):  # Anna serves neither the call nor the group
                await stream_until(other, "screenpop", timeout=0.5)
    finally:
        await david.close()
        await anna.close()


async def test_transfer_targets_list_every_group_and_official_for_agents_only(desk: DesktopHarness) -> None:
    session, _ = await signed_in(desk, "anna.andersson")
    async with session:
        answer = await session.get("/api/v1/transfer-targets")
        assert answer.status == 200
        body = await answer.json()
    config = desk.ctx.app.config.current
    assert [g["id"] for g in body["groups"]] == sorted(config.groups)
    assert {g["queue"] for g in body["groups"]} == {g.queue for g in config.groups.values()}
    by_id = {o["id"]: o for o in body["officials"]}
    assert set(by_id) == set(config.officials)
    assert by_id["sara.nilsson"]["department_name"] == config.departments["social_services"].name
    # No number of anyone's: the transfer itself looks the direct line up on the server.
    assert "+46" not in json.dumps(body)
    async with ClientSession(base_url=desk.client.make_url("/")) as anonymous:
        assert (await anonymous.get("/api/v1/transfer-targets")).status == 401
