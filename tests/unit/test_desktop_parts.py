"""The desktop's parts on their own: the web store (credentials, sessions, tokens, audit), the sign-in
rate limiter, the hub's visibility rules, `ivr check` on `supervisors:`, and the CLI commands."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import Problem
from ivr.desktop import store
from ivr.desktop.hub import RESET, DesktopHub
from ivr.desktop.ratelimit import LoginLimiter
from ivr.desktop.users import AGENT_SCOPES, SUPERVISOR_SCOPES, WebUser, token_user, user_for
from ivr.store.db import Database, open_database
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """On the embedded SQLite and on the real PostgreSQL (conftest's db_url): daemons may share either."""
    database = open_database(db_url)
    yield database
    database.close()


# --- store ----------------------------------------------------------------------------------------------
def test_passwords_are_argon2_and_verified(db: Database) -> None:
    store.set_password(db, "anna.andersson", "a long secret 123", 1.0)
    stored = store.password_hash(db, "anna.andersson")
    assert stored is not None and stored.startswith("$argon2id$") and "a long secret" not in stored
    assert store.verify(stored, "a long secret 123")
    assert not store.verify(stored, "a long secret 124")
    assert not store.verify(None, "a long secret 123")  # unknown user: checked against a dummy hash
    assert not store.verify("not-a-hash", "x")


def test_a_new_password_ends_the_sessions(db: Database) -> None:
    store.set_password(db, "anna.andersson", "first password 1", 1.0)
    token = store.create_session(db, "anna.andersson", 10.0, 3600)
    assert store.session_user(db, token, 20.0, 600) == "anna.andersson"
    store.set_password(db, "anna.andersson", "second password 2", 30.0)
    assert store.session_user(db, token, 40.0, 600) is None


def test_sessions_expire_idle_and_absolute_and_are_deleted(db: Database) -> None:
    token = store.create_session(db, "bilal.haddad", 0.0, 1000.0)
    assert store.session_user(db, token, 590.0, 600.0) == "bilal.haddad"  # touched at 590
    assert store.session_user(db, token, 1100.0, 600.0) is None  # past the absolute end
    assert db.fetchone("SELECT COUNT(*) FROM web_sessions") == (0,)
    token = store.create_session(db, "bilal.haddad", 0.0, 1000.0)
    assert store.session_user(db, token, 600.0, 600.0) is None  # idle for 600 s
    assert store.session_user(db, "made-up", 1.0, 600.0) is None
    store.create_session(db, "x", 0.0, 100.0)
    assert store.purge_sessions(db, 200.0, 600.0) == 1


def test_tokens_create_list_revoke(db: Database) -> None:
    token = store.create_token(db, "board", frozenset({"queues:read"}), 100.0, days=1)
    assert token.startswith(store.TOKEN_PREFIX)
    found = store.find_token(db, token, 200.0)
    assert found is not None and found.scopes == {"queues:read"}
    assert store.find_token(db, token, 100.0 + 86400) is None  # expired
    with pytest.raises(ValueError, match="exists"):
        store.create_token(db, "board", frozenset({"agents:read"}), 200.0, None)
    assert store.revoke_token(db, "board", 300.0) and not store.revoke_token(db, "board", 301.0)
    assert store.find_token(db, token, 400.0) is None
    again = store.create_token(db, "board", frozenset({"agents:read"}), 500.0, None)  # replaces a revoked one
    assert store.find_token(db, again, 600.0) is not None and store.find_token(db, token, 600.0) is None
    assert [t.name for t in store.list_tokens(db)] == ["board"]
    assert db.fetchone("SELECT COUNT(*) FROM api_tokens WHERE token_hash = ?", (again,)) == (0,)


def test_audit_rows(db: Database) -> None:
    store.write_audit(db, 5.0, "lena.strand", "force_pause", "anna.andersson", {"reason": "möte"})
    assert store.read_audit(db) == [(5.0, "lena.strand", "force_pause", "anna.andersson", {"reason": "möte"})]
    assert store.read_audit(db, since=6.0) == []


async def test_the_async_store_reports_an_unreachable_database(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    web = store.WebStore(f"sqlite:///{tmp_path / 'file' / 'ivr.db'}")  # a file where a folder should be
    await web.start()  # logged, not raised: calls go on without it
    with pytest.raises(store.StoreUnavailable):
        await web.session_user("x")


async def test_the_async_store_purges_expired_sessions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    web = store.WebStore(url, idle_s=60.0, purge_every_s=0.05)
    await web.start()
    try:
        live = await web.create_session("anna.andersson")
        web.clock = lambda: time.time() + 120  # the first session is idle past its limit...
        fresh = await web.create_session("bilal.haddad")  # ...this one was just made
        for _ in range(100):
            await asyncio.sleep(0.05)
            count = await web.run(lambda db: db.fetchone("SELECT COUNT(*) FROM web_sessions"))
            if count == (1,):
                break
        assert await web.session_user(fresh) == "bilal.haddad" and await web.session_user(live) is None
        assert count == (1,)
    finally:
        await web.stop()


# --- rate limiter ---------------------------------------------------------------------------------------
async def test_limiter_window_and_retry_after(tmp_path: Path) -> None:
    web = store.WebStore(f"sqlite:///{tmp_path / 'ivr.db'}", purge_every_s=0)
    now = [1000.0]
    limiter = LoginLimiter(web, per_user=3, per_address=5, window_s=100.0, clock=lambda: now[0])
    try:
        for second in (1000.0, 1010.0, 1020.0):
            now[0] = second
            assert await limiter.retry_after("Anna", "10.0.0.1") == 0
            await limiter.failed("Anna", "10.0.0.1")
        assert await limiter.retry_after("anna", "10.0.0.2") == 80  # user names are counted case-blind
        now[0] = 1100.5  # the first failure has left the window
        assert await limiter.retry_after("anna", "10.0.0.2") == 0
        await limiter.succeeded("anna")
        for index in range(5):
            await limiter.failed(f"user{index}", "10.0.0.9")
        assert await limiter.retry_after("someone", "10.0.0.9") > 0
        assert await limiter.retry_after("someone", "10.0.0.8") == 0
    finally:
        await web.stop()


async def test_daemons_on_one_store_count_failures_together(db_url: str) -> None:
    first, second = store.WebStore(db_url, purge_every_s=0), store.WebStore(db_url, purge_every_s=0)
    limits = [LoginLimiter(web, per_user=4, per_address=100) for web in (first, second)]
    try:
        for index in range(4):
            await limits[index % 2].failed("bilal.haddad", f"10.0.0.{index}")
        assert await limits[0].retry_after("bilal.haddad", "10.0.1.1") > 0
        assert await limits[1].retry_after("bilal.haddad", "10.0.1.1") > 0
        await limits[1].succeeded("bilal.haddad")
        assert await limits[0].retry_after("bilal.haddad", "10.0.1.1") == 0
        # Old failures go with the hourly purge.
        await first.run(lambda db: store.record_failure(db, 0.0, "old", "10.0.0.1"))
        await first.run(lambda db: store.purge_sessions(db, store.FAILURES_KEPT_S + 1.0, 60.0))
        assert await first.run(lambda db: db.fetchone("SELECT COUNT(*) FROM web_login_failures WHERE username = ?",
                                                     ("old",))) == (0,)
    finally:
        await first.stop()
        await second.stop()


# --- hub ------------------------------------------------------------------------------------------------
GROUPS = {"anna": frozenset({"general", "school"}), "david": frozenset({"building"})}


def hub_and_pages() -> tuple[DesktopHub, dict[str, asyncio.Queue[tuple[str, dict[str, object]]]]]:
    hub = DesktopHub(lambda agent: GROUPS.get(agent, frozenset()))
    users = {
        "anna": WebUser("anna", "Anna", "agent", GROUPS["anna"], AGENT_SCOPES),
        "david": WebUser("david", "David", "agent", GROUPS["david"], AGENT_SCOPES),
        "lena": WebUser("lena", "Lena", "supervisor", frozenset({"general"}), SUPERVISOR_SCOPES),
        "board": WebUser("token:board", "board", "token", frozenset({"general", "building"}),
                         frozenset({"queues:read"})),
        "hr": WebUser("token:hr", "hr", "token", frozenset({"general", "building"}), frozenset({"agents:read"})),
    }
    return hub, {name: hub.subscribe(user).queue for name, user in users.items()}


def kinds(queue: asyncio.Queue[tuple[str, dict[str, object]]]) -> list[str]:
    seen = []
    while not queue.empty():
        seen.append(queue.get_nowait()[0])
    return seen


def test_hub_sends_each_page_only_what_it_may_see() -> None:
    hub, pages = hub_and_pages()
    hub.to_agent("anna", "state", {"agent": "anna"})
    hub.to_agent("anna", "screenpop", {"uniqueid": "1"})
    hub.to_group("general", "group", {"group": "general"})
    hub.to_supervisors("anna", "spy", {"mode": "listen"})
    assert kinds(pages["anna"]) == ["state", "screenpop", "group"]
    assert kinds(pages["david"]) == []
    assert kinds(pages["lena"]) == ["state", "screenpop", "group", "spy"]
    assert kinds(pages["board"]) == ["group"]
    assert kinds(pages["hr"]) == ["state"]


def test_hub_drops_a_page_that_does_not_keep_up_and_ends_all_at_shutdown() -> None:
    hub, pages = hub_and_pages()
    for index in range(300):
        hub.to_agent("david", "state", {"n": index})
    # david's page and the token with agents:read fell behind; the others heard nothing of it.
    assert kinds(pages["david"]) == kinds(pages["hr"]) == [RESET] and len(hub) == 3
    hub.close_all()
    assert kinds(pages["anna"]) == [RESET] and len(hub) == 0


def test_users_from_the_config() -> None:
    config = load_config([REPO])
    anna, lena = user_for(config, "anna.andersson"), user_for(config, "lena.strand")
    assert anna is not None and anna.role == "agent" and anna.scopes == AGENT_SCOPES
    assert lena is not None and lena.role == "supervisor" and lena.groups == {"general", "social", "school"}
    assert user_for(config, "nobody") is None
    assert token_user(config, "x", frozenset({"queues:read", "supervise"})).scopes == {"queues:read"}


# --- ivr check ------------------------------------------------------------------------------------------
def test_supervisors_are_checked(config_tree: Path, problems_of: Callable[..., list[Problem]]) -> None:
    (config_tree / "agents" / "supervisors.yaml").write_text("""supervisors:
  alice:
    name: Alice again
    extension: "2001"
    groups: [general, genral]
  bo:
    name: Bo
    extension: "2001"
    groups: [general]
""", encoding="utf-8")
    found = [f"{p.file}:{p.line}: {p.message}" for p in problems_of()]
    assert "agents/supervisors.yaml:2: 'alice' is both an agent and a supervisor" in found
    assert "agents/supervisors.yaml:5: unknown agent group 'genral'" in found
    assert "agents/supervisors.yaml:4: extension 2001 is also agent alice's" in found
    assert "agents/supervisors.yaml:8: extension 2001 is also agent alice's" in found


def test_a_supervisor_needs_a_group(config_tree: Path, problems_of: Callable[..., list[Problem]]) -> None:
    (config_tree / "agents" / "supervisors.yaml").write_text(
        'supervisors:\n  bo: {name: Bo, extension: "2901", groups: []}\n', encoding="utf-8")
    assert any("supervisors" in p.file and p.line == 2 for p in problems_of())


# --- CLI ------------------------------------------------------------------------------------------------
def test_cli_password_and_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("IVR_DB_URL", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("lagom lång lösenfras\n"))
    assert main(["agents", "password", "lena.strand", "--stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["agents", "password", "anna.andersson", "--stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("lagom lång lösenfras\n"))
    assert main(["agents", "password", "nobody", "--stdin"]) == 1
    conn = sqlite3.connect(tmp_path / "ivr.db")
    rows = conn.execute("SELECT user_id, password_hash FROM web_credentials").fetchall()
    conn.close()
    assert [r[0] for r in rows] == ["lena.strand"] and rows[0][1].startswith("$argon2id$")

    capsys.readouterr()
    assert main(["api-token", "create", "board", "--scope", "queues:read", "--days", "30"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("ivrt_")
    assert main(["api-token", "create", "board", "--scope", "queues:read"]) == 1
    assert main(["api-token", "list"]) == 0
    listing = capsys.readouterr().out
    assert "board" in listing and "active" in listing and token not in listing
    assert main(["api-token", "revoke", "board"]) == 0 and main(["api-token", "revoke", "board"]) == 1
    assert main(["api-token", "list"]) == 0 and "revoked" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["api-token", "create", "x", "--scope", "supervise"])  # not a token's scope
