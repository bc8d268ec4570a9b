"""The web desktop's security properties (issue 11), against the real desktop app (auth middleware,
store on SQLite, hub, routes) on an aiohttp test server, with queue members kept by `FakeAmi`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession

from ivr.agents.control import pause_reason
from ivr.desktop.store import create_token, read_audit, revoke_token
from ivr.store.db import open_database
from ivr.testing.desktop import PASSWORD, DesktopHarness, desktop

SUPERVISOR = "lena.strand"  # groups general, social, school
OUTSIDER = "david.lind"  # building, streets: not one of lena.strand's agents


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[DesktopHarness]:
    async with desktop(tmp_path) as running:
        for user in ("anna.andersson", "bilal.haddad", OUTSIDER, SUPERVISOR):
            running.set_password(user)
        yield running


async def sign_in(client: ClientSession, user: str, password: str = PASSWORD) -> str:
    answer = await client.post("/api/v1/session", json={"username": user, "password": password})
    assert answer.status == 200, await answer.text()
    return str((await answer.json())["csrf"])


def api_routes(desk: DesktopHarness) -> list[tuple[str, str]]:
    routes = []
    for route in desk.client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        if path.startswith("/api/v1/") and route.method != "HEAD":
            routes.append((route.method, path.replace("{agent}", "anna.andersson").replace("{uniqueid}", "1.1")
                           .replace("{group}", "general")))
    return routes


async def next_event(stream: ClientResponse, timeout: float = 3.0) -> tuple[str, dict[str, Any]]:
    kind = ""
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), timeout)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            return kind, json.loads(line.removeprefix("data: "))


async def events_within(stream: ClientResponse, seconds: float = 0.5) -> list[tuple[str, dict[str, Any]]]:
    seen = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            seen.append(await next_event(stream, left))
        except TimeoutError:
            break
    return seen


# --- no page or API without a session -------------------------------------------------------------------
async def test_no_api_without_a_session(desk: DesktopHarness) -> None:
    routes = api_routes(desk)
    assert len(routes) >= 12
    for method, path in routes:
        if (method, path) == ("POST", "/api/v1/session"):
            continue
        answer = await desk.client.request(method, path, json={})
        assert answer.status == 401, f"{method} {path}: {answer.status}"
        assert (await answer.json())["error"] == "unauthenticated"


async def test_pages_send_the_browser_to_sign_in(desk: DesktopHarness) -> None:
    for page in ("/desk/", "/desk/supervisor"):
        answer = await desk.client.get(page, allow_redirects=False)
        assert answer.status == 302 and answer.headers["Location"] == "/desk/login"
    login = await desk.client.get("/desk/login")
    assert login.status == 200 and "<form" in await login.text()
    # A forged cookie is no session either.
    desk.client.session.cookie_jar.update_cookies({"ivr_session": "made-up"})
    assert (await desk.client.get("/api/v1/me")).status == 401


async def test_signed_in_pages_by_role(desk: DesktopHarness) -> None:
    await desk.sign_in("anna.andersson")
    page = await desk.client.get("/desk/", allow_redirects=False)
    assert page.status == 200
    # Never inside another site's frame (the buttons change agents' state), never cached, no referrer.
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    answer = await desk.client.get("/desk/supervisor", allow_redirects=False)
    assert answer.status == 302 and answer.headers["Location"] == "/desk/"
    async with desk.browser() as boss:
        await sign_in(boss, SUPERVISOR)
        assert (await boss.get("/desk/supervisor", allow_redirects=False)).status == 200


async def test_the_wallboard_on_the_same_server_needs_a_session_or_token(desk: DesktopHarness) -> None:
    answer = await desk.client.get("/", allow_redirects=False)
    assert answer.status == 302 and answer.headers["Location"] == "/desk/login"
    for path in ("/api/state", "/events"):
        assert (await desk.client.get(path)).status == 401
    assert (await desk.client.get("/static/wallboard.js")).status == 200  # no data in it
    calls_only = {"Authorization": f"Bearer {make_token(desk, 'stats', {'calls:read'})}"}
    assert (await desk.client.get("/api/state", headers=calls_only)).status == 403
    board = {"Authorization": f"Bearer {make_token(desk, 'board', {'queues:read'})}"}
    assert (await desk.client.get("/api/state", headers=board)).status == 200
    await desk.sign_in("anna.andersson")
    page = await desk.client.get("/")
    assert page.status == 200 and "wallboard.js" in await page.text()
    stream = await desk.client.get("/events")
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    stream.close()


# --- one agent cannot read or steer another -----------------------------------------------------------
async def test_agent_reads_and_steers_only_themself(desk: DesktopHarness) -> None:
    csrf = await desk.sign_in("anna.andersson")
    headers = {"X-CSRF-Token": csrf}
    me = await (await desk.client.get("/api/v1/me")).json()
    assert me["id"] == "anna.andersson" and me["role"] == "agent" and "supervise" not in me["scopes"]
    for method, path in (("GET", "/api/v1/supervisor/agents"),
                         ("POST", "/api/v1/supervisor/agents/bilal.haddad/pause"),
                         ("POST", "/api/v1/supervisor/agents/bilal.haddad/logout")):
        answer = await desk.client.request(method, path, json={"reason": "lunch"}, headers=headers)
        assert answer.status == 403, f"{method} {path}"
    # The agent API has no agent id to aim at someone else: a smuggled one is ignored.
    answer = await desk.client.post("/api/v1/agent/login", json={"device": "desk", "agent": "bilal.haddad"},
                                    headers=headers)
    assert answer.status == 200 and (await answer.json())["agent"] == "anna.andersson"
    assert {a["MemberName"] for a in desk.ami.actions if a["Action"] == "QueueAdd"} == {"anna.andersson"}


async def test_an_agents_stream_carries_only_their_own_state(desk: DesktopHarness) -> None:
    await desk.sign_in("anna.andersson")
    async with desk.browser() as bilal, desk.browser() as boss:
        bilal_csrf = await sign_in(bilal, "bilal.haddad")
        await sign_in(boss, SUPERVISOR)
        anna_stream = await desk.client.get("/api/v1/events")
        boss_stream = await boss.get("/api/v1/events")
        kind, first_state = await next_event(anna_stream)
        assert kind == "state" and first_state["agent"] == "anna.andersson" and first_state["state"] == "logged_out"
        first = {(await next_event(boss_stream))[1]["agent"] for _ in range(5)}
        assert first == {"anna.andersson", "bilal.haddad", "cecilia.berg", "emina.hodzic", "farah.ali"}
        answer = await bilal.post("/api/v1/agent/login", json={"device": "desk"}, headers={"X-CSRF-Token": bilal_csrf})
        assert answer.status == 200
        kind, state = await next_event(boss_stream)
        assert kind == "state" and state["agent"] == "bilal.haddad" and state["state"] == "available"
        # Anna's page may hear about her group's queue (`group`), never about another agent.
        seen = await events_within(anna_stream)
        assert not [data for kind, data in seen
                    if kind in ("state", "screenpop") and data.get("agent") != "anna.andersson"]
        assert all(kind in ("group", "state") for kind, _ in seen)


async def test_supervisor_sees_and_steers_only_their_groups(desk: DesktopHarness) -> None:
    csrf = await desk.sign_in(SUPERVISOR)
    headers = {"X-CSRF-Token": csrf}
    listing = await (await desk.client.get("/api/v1/supervisor/agents")).json()
    assert OUTSIDER not in {a["agent"] for a in listing["agents"]}
    assert {q["group"] for q in listing["queues"]} == {"general", "social", "school"}
    answer = await desk.client.post(f"/api/v1/supervisor/agents/{OUTSIDER}/pause", json={"reason": "lunch"},
                                    headers=headers)
    assert answer.status == 403
    # Within their groups: the forced pause happens and is audited.
    await desk.ctx.control.login(desk.ctx.app.config.current, "bilal.haddad")
    answer = await desk.client.post("/api/v1/supervisor/agents/bilal.haddad/pause",
                                    json={"reason": pause_reason(desk.ctx.app.config.current, "2")}, headers=headers)
    assert answer.status == 200
    assert desk.ctx.states.current("bilal.haddad")["reason"] == "meeting"
    answer = await desk.client.post("/api/v1/supervisor/agents/bilal.haddad/logout", headers=headers)
    assert answer.status == 200 and desk.ctx.states.current("bilal.haddad")["state"] == "logged_out"
    db = open_database(desk.db_url)
    try:
        rows = [(actor, action, target, detail) for _, actor, action, target, detail in read_audit(db)
                if action.startswith("force_")]
    finally:
        db.close()
    assert rows[0] == (SUPERVISOR, "force_pause", "bilal.haddad", {"reason": "meeting"})
    assert rows[1] == (SUPERVISOR, "force_logout", "bilal.haddad", {})
    # Pausing an agent who is not logged in: Asterisk refuses, and the refusal is recorded too.
    answer = await desk.client.post("/api/v1/supervisor/agents/bilal.haddad/pause", json={"reason": "lunch"},
                                    headers=headers)
    assert answer.status == 409
    db = open_database(desk.db_url)
    try:
        last = read_audit(db)[-2:]
    finally:
        db.close()
    assert [(row[2], row[4]) for row in last] == [("force_pause", {"reason": "lunch"}),
                                                  ("force_pause_failed", {"reason": "lunch", "status": 409})]


# --- CSRF -----------------------------------------------------------------------------------------------
async def test_state_changes_need_the_csrf_token(desk: DesktopHarness) -> None:
    csrf = await desk.sign_in("anna.andersson")
    for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": csrf[:-1]}):
        answer = await desk.client.post("/api/v1/agent/login", json={"device": "desk"}, headers=headers)
        assert answer.status == 403 and (await answer.json())["error"] == "csrf"
        assert (await desk.client.delete("/api/v1/session", headers=headers)).status == 403
    assert not desk.ami.actions
    assert (await desk.client.post("/api/v1/agent/login", json={}, headers={"X-CSRF-Token": csrf})).status == 200
    # Signing out (with the token) ends the session for good.
    assert (await desk.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})).status == 204
    assert (await desk.client.get("/api/v1/me")).status == 401


async def test_a_request_from_another_site_is_refused(desk: DesktopHarness) -> None:
    csrf = await desk.sign_in("anna.andersson")
    host = desk.client.make_url("/").authority
    answer = await desk.client.post("/api/v1/agent/login", json={},
                                    headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert answer.status == 403 and (await answer.json())["error"] == "csrf" and not desk.ami.actions
    answer = await desk.client.post("/api/v1/agent/login", json={},
                                    headers={"X-CSRF-Token": csrf, "Origin": f"http://{host}"})
    assert answer.status == 200


async def test_another_sessions_csrf_token_does_not_fit(desk: DesktopHarness) -> None:
    await desk.sign_in("anna.andersson")
    async with desk.browser() as other:
        other_csrf = await sign_in(other, "anna.andersson")
    answer = await desk.client.post("/api/v1/agent/unpause", headers={"X-CSRF-Token": other_csrf})
    assert answer.status == 403


# --- expiry ---------------------------------------------------------------------------------------------
async def test_idle_and_absolute_expiry(desk: DesktopHarness) -> None:
    store = desk.ctx.store
    now = [1_800_000_000.0]
    store.clock = lambda: now[0]
    await desk.sign_in("anna.andersson")
    now[0] += store.idle_s - 60
    assert (await desk.client.get("/api/v1/me")).status == 200  # in use: the idle clock restarts
    now[0] += store.idle_s - 60
    assert (await desk.client.get("/api/v1/me")).status == 200
    now[0] += store.idle_s + 1
    assert (await desk.client.get("/api/v1/me")).status == 401  # idle too long
    await desk.sign_in("anna.andersson")
    for _ in range(int(store.max_s // (store.idle_s / 2)) + 1):
        now[0] += store.idle_s / 2
        if (await desk.client.get("/api/v1/me")).status == 401:
            break
    else:
        pytest.fail("the session outlived max_s")
    assert now[0] - 1_800_000_000.0 - 3 * store.idle_s <= store.max_s + store.idle_s


async def test_an_open_stream_ends_when_its_session_expires(tmp_path: Path) -> None:
    async with desktop(tmp_path / "short", keepalive_s=0.3) as desk:
        desk.set_password("anna.andersson")
        await desk.sign_in("anna.andersson")
        stream = await desk.client.get("/api/v1/events")
        assert (await next_event(stream))[0] == "state"
        # The stream checks its session at every keep-alive: signed out elsewhere, or expired, it ends.
        token = desk.client.session.cookie_jar.filter_cookies(desk.client.make_url("/"))["ivr_session"].value
        await desk.ctx.store.end_session(token)
        assert (await next_event(stream))[0] == "expired"


# --- rate limit -----------------------------------------------------------------------------------------
async def test_wrong_passwords_are_rate_limited_and_audited(desk: DesktopHarness) -> None:
    limit = desk.ctx.limiter.per_user
    for _ in range(limit):
        answer = await desk.client.post("/api/v1/session", json={"username": "anna.andersson", "password": "guess"})
        assert answer.status == 401
    answer = await desk.client.post("/api/v1/session", json={"username": "anna.andersson", "password": PASSWORD})
    assert answer.status == 429 and 0 < int(answer.headers["Retry-After"]) <= desk.ctx.limiter.window_s
    # Another user from the same address may still sign in (the address limit is higher).
    assert (await desk.client.post("/api/v1/session", json={"username": "bilal.haddad",
                                                           "password": PASSWORD})).status == 200
    db = open_database(desk.db_url)
    try:
        failed = [row for row in read_audit(db) if row[2] == "login_failed"]
    finally:
        db.close()
    assert len(failed) == limit and all(row[3] == "anna.andersson" for row in failed)


async def test_unknown_users_and_the_address_limit(tmp_path: Path) -> None:
    async with desktop(tmp_path, web_login_failures_address=4) as desk:
        desk.set_password("anna.andersson")
        for index in range(desk.ctx.limiter.per_address):
            answer = await desk.client.post("/api/v1/session", json={"username": f"nobody{index}", "password": "x"})
            assert answer.status == 401
        answer = await desk.client.post("/api/v1/session", json={"username": "anna.andersson", "password": PASSWORD})
        assert answer.status == 429


# --- tokens ---------------------------------------------------------------------------------------------
def make_token(desk: DesktopHarness, name: str, scopes: set[str], days: float | None = None) -> str:
    db = open_database(desk.db_url)
    try:
        return create_token(db, name, frozenset(scopes), desk.ctx.store.clock(), days)
    finally:
        db.close()


async def test_token_scopes_are_enforced(desk: DesktopHarness) -> None:
    queues_only = {"Authorization": f"Bearer {make_token(desk, 'board', {'queues:read'})}"}
    agents = {"Authorization": f"Bearer {make_token(desk, 'hr', {'agents:read'})}"}
    assert (await desk.client.get("/api/v1/supervisor/agents", headers=queues_only)).status == 403
    listing = await desk.client.get("/api/v1/supervisor/agents", headers=agents)
    assert listing.status == 200 and OUTSIDER in {a["agent"] for a in (await listing.json())["agents"]}
    for headers in (queues_only, agents):
        assert (await desk.client.get("/api/v1/agent/state", headers=headers)).status == 403
        # No CSRF token needed with a Bearer token, but no scope to steer anyone either.
        answer = await desk.client.post("/api/v1/supervisor/agents/bilal.haddad/pause", json={"reason": "lunch"},
                                        headers=headers)
        assert answer.status == 403 and (await answer.json())["error"] == "forbidden"
        assert (await desk.client.get("/desk/", headers=headers, allow_redirects=False)).status == 403
    me = await (await desk.client.get("/api/v1/me", headers=agents)).json()
    assert me["role"] == "token" and me["scopes"] == ["agents:read"] and me["csrf"] == ""


async def test_revoked_expired_and_made_up_tokens_are_refused(desk: DesktopHarness) -> None:
    revoked = make_token(desk, "old", {"agents:read"})
    expiring = make_token(desk, "short", {"agents:read"}, days=1)
    db = open_database(desk.db_url)
    try:
        assert revoke_token(db, "old", desk.ctx.store.clock())
    finally:
        db.close()
    desk.ctx.store.clock = lambda: 4_000_000_000.0  # long after a day
    for token in (revoked, expiring, "ivrt_made-up", ""):
        answer = await desk.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 401


# --- what the database holds --------------------------------------------------------------------------
async def test_passwords_and_tokens_are_stored_only_as_hashes(desk: DesktopHarness, tmp_path: Path) -> None:
    token = make_token(desk, "board", {"queues:read"})
    await desk.sign_in("anna.andersson")
    session = desk.client.session.cookie_jar.filter_cookies(desk.client.make_url("/"))["ivr_session"].value
    conn = sqlite3.connect(tmp_path / "ivr.db")
    try:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM web_credentials")]
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert len(hashes) == 4 and all(h.startswith("$argon2id$") for h in hashes)
    for secret in (PASSWORD, token, session):
        assert secret not in dump
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("ivr.db*"))
    assert PASSWORD.encode() not in raw and session.encode() not in raw


async def test_a_database_outage_is_503_never_a_way_in(desk: DesktopHarness, tmp_path: Path) -> None:
    await desk.sign_in("anna.andersson")
    await desk.ctx.store.stop()
    (tmp_path / "gone").write_text("")
    desk.ctx.store.url = f"sqlite:///{tmp_path / 'gone' / 'ivr.db'}"  # a file where the folder should be
    for method, path, body in (("GET", "/api/v1/me", None), ("GET", "/desk/", None),
                               ("POST", "/api/v1/session", {"username": "anna.andersson", "password": PASSWORD})):
        answer = await desk.client.request(method, path, json=body, allow_redirects=False)
        assert answer.status == 503 and (await answer.json())["error"] == "store_unavailable", path
    assert (await desk.client.get("/api/v1/me", headers={"Authorization": "Bearer ivrt_x"})).status == 503


async def test_the_cookie_is_http_only_and_strict(tmp_path: Path) -> None:
    async with desktop(tmp_path, web_secure_cookies=True) as desk:
        desk.set_password("anna.andersson")
        answer = await desk.client.post("/api/v1/session", json={"username": "anna.andersson",
                                                                 "password": PASSWORD})
        cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
