"""`GET /api/v1/agent/softphone` on the real desktop app (ivr.testing.desktop): the signed-in agent
gets their own browser endpoint and its password from pjsip_agents_auth.conf, nobody else's; the
pages' CSP lets them open Asterisk's WebSocket; the browser files are served."""

from __future__ import annotations

from pathlib import Path

import yaml
from aiohttp.test_utils import make_mocked_request

from ivr.asterisk_gen.pjsip import read_credentials, write_passwords
from ivr.config.model import Cluster
from ivr.desktop.routes_softphone import default_socket, edge_ws_url, with_socket, ws_url
from ivr.testing.desktop import REPO, desktop
from ivr.validate import load_config

WS = "wss://pbx.malmo.example:8089/ws"


def passwords(tmp_path: Path) -> Path:
    path = tmp_path / "pjsip_agents_auth.conf"
    write_passwords(load_config([str(REPO)]), path)
    return path


async def test_an_agent_gets_their_own_browser_phone_and_nothing_else(tmp_path: Path) -> None:
    auth = passwords(tmp_path)
    async with desktop(tmp_path, softphone_auth_file=auth, softphone_ws_url=WS) as desk:
        for user in ("anna.andersson", "bilal.haddad"):
            desk.set_password(user)
        await desk.sign_in("anna.andersson")
        answer = await desk.client.get("/api/v1/agent/softphone")
        assert answer.status == 200
        assert answer.headers["Cache-Control"] == "no-store"
        credentials = read_credentials(auth, "web1001")
        assert credentials is not None
        assert await answer.json() == {"ws_url": WS, "sip_uri": "sip:web1001@pbx.malmo.example",
                                       "username": "web1001", "password": credentials[1],
                                       "display_name": "Anna Andersson", "keepalive_s": 0}  # no cluster
        # Bilal's (and the desk phones') passwords are nowhere in Anna's answer.
        text = await answer.text()
        for other in ("web1002", "1001", "1002"):
            found = read_credentials(auth, other)
            assert found is not None and found[1] not in text
        # The agent page may open that socket; the policy is otherwise the wallboard's.
        page = await desk.client.get("/desk/")
        assert page.status == 200
        policy = page.headers["Content-Security-Policy"]
        assert "connect-src 'self' wss://pbx.malmo.example:8089" in policy and "script-src 'self'" in policy


async def test_without_a_configured_socket_the_browser_uses_its_own_host(tmp_path: Path) -> None:
    async with desktop(tmp_path, softphone_auth_file=passwords(tmp_path)) as desk:
        desk.set_password("david.lind")
        await desk.sign_in("david.lind")
        body = await (await desk.client.get("/api/v1/agent/softphone", headers={"Host": "desk.malmo.example"})).json()
        assert body["ws_url"] == "ws://desk.malmo.example/ws"  # plain http here; behind the TLS proxy: wss
        assert body["sip_uri"] == "sip:web1004@desk.malmo.example" and body["username"] == "web1004"
        page = await desk.client.get("/desk/")
        # Nothing added: the pages' own policy (connect-src 'self') applies.
        assert "ws:" not in page.headers.get("Content-Security-Policy", "")
    # Behind the TLS proxy (IVR_WEB_SECURE_COOKIES=1): wss on the same host.
    request = make_mocked_request("GET", "/api/v1/agent/softphone", headers={"Host": "desk.malmo.example"})
    assert ws_url(request, "", secure=True) == "wss://desk.malmo.example/ws"
    assert ws_url(request, WS, secure=True) == WS


def test_in_a_cluster_the_browser_registers_at_the_edges_websocket() -> None:
    example = yaml.safe_load((REPO / "kamailio" / "cluster.example.yaml").read_text(encoding="utf-8"))
    cluster = Cluster.model_validate(example["cluster"])
    edge = edge_ws_url(cluster)
    assert edge == "ws://10.98.7.10:5066"  # the service address and cluster.edge.ws_port, not a node
    request = make_mocked_request("GET", "/api/v1/agent/softphone", headers={"Host": "desk.malmo.example"})
    assert ws_url(request, "", secure=False, edge=edge) == edge
    # Over https only wss: the page's own /ws, which the TLS proxy forwards to the edge.
    assert ws_url(request, "", secure=True, edge=edge) == "wss://desk.malmo.example/ws"
    assert ws_url(request, WS, secure=False, edge=edge) == WS  # IVR_SOFTPHONE_WS_URL wins
    # The pages' policy lets them open the edge's socket (plain http); nothing extra without a cluster.
    assert default_socket("", False, cluster) == edge and default_socket("", True, cluster) == ""
    assert default_socket(WS, False, cluster) == WS and default_socket("", False, None) == ""
    assert edge_ws_url(None) == ""


async def test_no_phone_for_supervisors_tokens_or_strangers(tmp_path: Path) -> None:
    async with desktop(tmp_path, softphone_auth_file=passwords(tmp_path), softphone_ws_url=WS) as desk:
        answer = await desk.client.get("/api/v1/agent/softphone")
        assert answer.status == 401 and (await answer.json())["error"] == "unauthenticated"
        desk.set_password("lena.strand")
        await desk.sign_in("lena.strand")
        answer = await desk.client.get("/api/v1/agent/softphone")
        assert answer.status == 403 and (await answer.json())["error"] == "forbidden"


async def test_an_agent_without_a_browser_phone_password_is_told_so(tmp_path: Path) -> None:
    auth = tmp_path / "pjsip_agents_auth.conf"
    auth.write_text("[agent-1001-auth]\ntype = auth\nauth_type = userpass\nusername = 1001\npassword = desk-only\n")
    async with desktop(tmp_path, softphone_auth_file=auth, softphone_ws_url=WS) as desk:
        desk.set_password("anna.andersson")
        await desk.sign_in("anna.andersson")
        answer = await desk.client.get("/api/v1/agent/softphone")
        assert answer.status == 404
        body = await answer.json()
        assert body["error"] == "no_softphone" and "desk-only" not in str(body)


async def test_the_softphone_module_and_its_sip_library_are_served_without_a_session(tmp_path: Path) -> None:
    async with desktop(tmp_path) as desk:
        module = await desk.client.get("/desk/static/softphone.js")
        assert module.status == 200 and "javascript" in module.headers["Content-Type"]
        assert 'import JsSIP from "./vendor/jssip.js";' in await module.text()
        library = await desk.client.get("/desk/static/vendor/jssip.js")
        assert library.status == 200
        text = await library.text()
        assert text.startswith("/* JsSIP 3.13.8 ") and "export default" in text


def test_the_socket_is_added_to_the_pages_own_policy() -> None:
    assert with_socket("default-src 'self'; connect-src 'self'; img-src 'self' data:", "wss://pbx:8089") == (
        "default-src 'self'; connect-src 'self' wss://pbx:8089; img-src 'self' data:")
    assert with_socket("default-src 'self'", "ws://10.0.0.1:8089") == "default-src 'self'; connect-src 'self' ws://10.0.0.1:8089"
