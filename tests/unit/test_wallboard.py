"""The wallboard: its state from product events, its HTTP/SSE endpoints, and the page in a real
headless Chromium driven over the DevTools protocol (a queued call appears live; a screenshot)."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.events import names
from ivr.wallboard.browser import chromium
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
    state.emit(names.CALLBACK_BOOKED, None, uniqueid="e", queue="kc-school", callback_id="7")
    today = state.as_dict()["queues"][0]["today"]
    # 1 within 60 s ÷ (2 answered + 2 abandoned − 1 short) = 1/3; a callback request is counted apart
    assert today == {"answered": 2, "in_target": 1, "abandoned": 2, "short_abandoned": 1,
                     "callback_requests": 1, "service_level": pytest.approx(1 / 3)}
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


async def test_queued_call_appears_live_in_headless_chromium(tmp_path: Path) -> None:
    state = WallboardState(site="malmo")
    board = Wallboard(state, port=0)
    await board.start()
    try:
        async with chromium() as browser:
            await browser.open(f"http://127.0.0.1:{board.port}/")
            await browser.wait_for("body[data-version]")  # the page rendered its first state
            # The call is queued while the page is open: it must arrive over the live stream.
            state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-general"))
            state.emit(names.ANSWERED, None, uniqueid="x1", queue="kc-school", agent="Agent 2001", wait_s=25)
            state.emit(names.QUEUE_SNAPSHOT, None, **snapshot("kc-school", "1793000000.77", "other-call"))
            await browser.wait_for('[data-queue="kc-school"] [data-uniqueid="1793000000.77"]')
            # Each stream event re-renders the board, so read the panel until it has settled.
            expected = ("Agent 2001", "100%", "1 available", "#1")
            text = ""
            deadline = asyncio.get_running_loop().time() + 30  # generous: a loaded 2-core machine is slow
            while asyncio.get_running_loop().time() < deadline:
                text = await browser.evaluate(
                    "(document.querySelector('[data-queue=\"kc-school\"]') || {innerText: ''}).innerText")
                if all(part in text for part in expected):
                    break
                await asyncio.sleep(0.1)
            assert all(part in text for part in expected), text
            assert await browser.wait_for("#status.live") == "live"
            shot = await browser.screenshot()
    finally:
        await board.stop()
    (tmp_path / "wallboard.png").write_bytes(shot)
    width, height, colours = png_facts(shot)
    assert (width, height) == (1280, 800)
    assert colours > 8, "the screenshot is (nearly) one colour"
    assert len(shot) > 20_000
