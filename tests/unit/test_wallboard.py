"""The wallboard: its state from product events, its HTTP/SSE endpoints, and the page in a real
headless Chromium driven over the DevTools protocol (a queued call appears live; a screenshot)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import struct
import tempfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.events import names
from ivr.wallboard.server import Wallboard, make_app
from ivr.wallboard.state import WallboardState

T0 = 1_793_000_000.0  # 2026-10-26 09:33 in Malmö
WAIT = 20.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def snapshot(queue: str, *callers: str, **extra: Any) -> dict[str, Any]:
    return {"queue": queue, "waiting": len(callers), "longest_wait_s": 42.0 if callers else 0.0,
            "agents": {"available": 1, "ringing": 0, "busy": 1, "wrapup": 0, "paused": 1, "unavailable": 0},
            "members": [{"agent": "Agent 2001", "state": "available"}, {"agent": "Agent 2002", "state": "busy"},
                        {"agent": "Agent 2003", "state": "paused"}],
            "callers": [{"uniqueid": u, "position": i, "wait_s": 42.0 - 10 * i} for i, u in enumerate(callers, 1)],
            **extra}


def test_service_level_today_and_midnight_reset() -> None:
    clock = Clock()
    state = WallboardState(clock=clock)
    state.emit(names.ANSWERED, None, uniqueid="a", queue="kc-school", agent="A", wait_s=20)
    state.emit(names.ANSWERED, None, uniqueid="b", queue="kc-school", agent="A", wait_s=90)
    state.emit(names.ABANDONED, None, uniqueid="c", queue="kc-school", wait_s=3, position=1)
    state.emit(names.ABANDONED, None, uniqueid="d", queue="kc-school", wait_s=30, position=1)
    today = state.as_dict()["queues"][0]["today"]
    # 1 within 60 s ÷ (2 answered + 2 abandoned − 1 short) = 1/3
    assert today == {"answered": 2, "in_target": 1, "abandoned": 2, "short_abandoned": 1,
                     "service_level": pytest.approx(1 / 3)}
    clock.now += 86_400
    assert state.as_dict()["queues"] == []


def test_snapshots_replace_the_queue_picture_and_bump_the_version() -> None:
    state = WallboardState(clock=Clock())
    state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-general", "u1", "u2"))
    state.emit(names.CALL_STARTED, None, uniqueid="x")  # ignored
    state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-general", "u2"))
    (queue,) = state.as_dict()["queues"]
    assert (queue["waiting"], [c["uniqueid"] for c in queue["callers"]]) == (1, ["u2"])
    assert state.version == 2


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient[Any, Any], WallboardState]]:
    state = WallboardState(site="malmo", clock=Clock())
    async with TestClient(TestServer(make_app(state))) as running:
        yield running, state


async def test_page_state_and_security_headers(client: tuple[TestClient[Any, Any], WallboardState]) -> None:
    http, state = client
    state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-school", "u7"))
    page = await http.get("/")
    assert page.status == 200 and "wallboard.js" in await page.text()
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    data = await (await http.get("/api/state")).json()
    assert data["site"] == "malmo" and data["queues"][0]["callers"][0]["uniqueid"] == "u7"
    assert (await http.get("/static/wallboard.js")).status == 200
    assert (await http.get("/static/../server.py")).status in (403, 404)


async def test_events_stream_pushes_every_change(client: tuple[TestClient[Any, Any], WallboardState]) -> None:
    http, state = client
    response = await http.get("/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")

    async def next_state() -> dict[str, Any]:
        while True:
            line = (await response.content.readline()).decode()
            if line.startswith("data: "):
                return dict(json.loads(line[6:]))

    first = await asyncio.wait_for(next_state(), WAIT)
    assert first["queues"] == []
    state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-social", "u9"))
    second = await asyncio.wait_for(next_state(), WAIT)
    assert second["queues"][0]["callers"][0]["uniqueid"] == "u9"
    response.close()


async def test_port_in_use_does_not_stop_the_daemon() -> None:
    first = Wallboard(WallboardState(), port=0)
    await first.start()
    second = Wallboard(WallboardState(), port=first.port)
    await second.start()
    try:
        assert first.running and not second.running
    finally:
        await first.stop()


# --- a real browser ----------------------------------------------------------------------------

class DevTools:
    """Just enough of the Chrome DevTools protocol: one page, commands answered by id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), WAIT)
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(result["exceptionDetails"])
        return result["result"].get("value")


@contextlib.asynccontextmanager
async def chromium(width: int = 1280, height: int = 800) -> AsyncIterator[DevTools]:
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium package is needed (scripts/setup installs it)"
    with tempfile.TemporaryDirectory(prefix="ivr-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", f"--window-size={width},{height}", "--remote-debugging-port=0",
            "about:blank", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            assert process.stderr is not None
            ws_url = ""
            while not ws_url:  # Chromium prints its DevTools address once it listens
                line = (await asyncio.wait_for(process.stderr.readline(), WAIT)).decode()
                assert line, "chromium exited before listening"
                if line.startswith("DevTools listening on "):
                    ws_url = line.split(" on ", 1)[1].strip()
            drain = asyncio.create_task(_drain(process.stderr))
            port = ws_url.split(":")[2].split("/")[0]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as answer:
                    pages = [t for t in await answer.json() if t["type"] == "page"]
                async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    yield DevTools(ws)
            drain.cancel()
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


APPEARS = """new Promise((resolve) => {
  const found = () => document.querySelector('[data-uniqueid="%s"]');
  if (found()) return resolve(found().closest('.queue').dataset.queue);
  new MutationObserver((_, observer) => {
    if (found()) { observer.disconnect(); resolve(found().closest('.queue').dataset.queue); }
  }).observe(document.body, {childList: true, subtree: true});
})"""


def png_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct colours in a sample of an RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    raw = b""
    pos = 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            raw += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(raw)
    channels = {2: 3, 6: 4}[colour]
    stride = width * channels + 1
    sample = {pixels[row * stride + 1 + col * channels: row * stride + 1 + (col + 1) * channels]
              for row in range(0, height, 7) for col in range(0, width, 13)}
    assert depth == 8
    return width, height, len(sample)


async def show_live_call(state: WallboardState, browser: DevTools, url: str, uniqueid: str) -> str:
    """Open the page, then queue a call while it is open; returns the queue the call shows up under."""
    await browser.call("Page.enable")
    await browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1,
                       mobile=False)
    await browser.call("Page.navigate", url=url)
    await browser.evaluate("""new Promise((resolve) => {
      const ready = () => document.body && document.body.dataset.version !== undefined;
      if (ready()) return resolve(true);
      const timer = setInterval(() => { if (ready()) { clearInterval(timer); resolve(true); } }, 50);
    })""")
    state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-general"))
    state.emit(names.ANSWERED, None, uniqueid="x1", queue="kc-school", agent="Agent 2001", wait_s=25)
    state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-school", uniqueid, "other-call"))
    return str(await asyncio.wait_for(browser.evaluate(APPEARS % uniqueid), WAIT))


async def test_queued_call_appears_live_in_headless_chromium(tmp_path: Path) -> None:
    state = WallboardState(site="malmo")
    board = Wallboard(state, port=0)
    await board.start()
    try:
        async with chromium() as browser:
            queue = await show_live_call(state, browser, f"http://127.0.0.1:{board.port}/", "1793000000.77")
            assert queue == "kc-school"
            text = await browser.evaluate("document.querySelector('[data-queue=\"kc-school\"]').innerText")
            assert "Agent 2001" in text and "100%" in text and "1 available" in text and "#1" in text
            assert await browser.evaluate("document.getElementById('status').textContent") == "live"
            shot = base64.b64decode((await browser.call("Page.captureScreenshot", format="png"))["data"])
    finally:
        await board.stop()
    (tmp_path / "wallboard.png").write_bytes(shot)
    width, height, colours = png_facts(shot)
    assert (width, height) == (1280, 800)
    assert colours > 8, "the screenshot is (nearly) one colour"
    assert len(shot) > 20_000
