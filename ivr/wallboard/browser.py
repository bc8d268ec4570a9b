"""A headless Chromium driven over the DevTools protocol: enough to open the wallboard, wait for
something to appear in the live page, and take a screenshot. The tests use it, and so does
the making of the screenshot in docs/reports.md. Needs Debian's `chromium` (scripts/setup).

Started with the flags that keep a headless Chromium quiet and self-contained as root: no
sandbox, no GPU, no QUIC, no first-run, no background networking or updates, a fresh profile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

TIMEOUT = 20.0

# Resolves with the element's text once `selector` matches, watching the DOM (no polling).
_APPEARS = """new Promise((resolve) => {
  const sel = %s;
  const found = () => document.querySelector(sel);
  if (found()) return resolve(found().textContent);
  new MutationObserver((_, observer) => {
    if (found()) { observer.disconnect(); resolve(found().textContent); }
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true});
})"""


class DevTools:
    """One page of the browser; commands are answered by id, events are skipped."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._events: list[str] = []  # names of events received while waiting for answers

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), TIMEOUT)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self._events.append(str(message["method"]))

    async def event(self, method: str) -> None:
        """Wait for a protocol event (e.g. Page.loadEventFired), also if it came in already."""
        while method not in self._events:
            message = await asyncio.wait_for(self.ws.receive_json(), TIMEOUT)
            if "method" in message:
                self._events.append(str(message["method"]))
        self._events.remove(method)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def open(self, url: str, width: int = 1280, height: int = 800) -> None:
        await self.call("Page.enable")
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                        mobile=False)
        self._events.clear()
        await self.call("Page.navigate", url=url)
        await self.event("Page.loadEventFired")

    async def wait_for(self, selector: str, timeout: float = TIMEOUT) -> str:
        """The text of the first element matching `selector`, once there is one."""
        return str(await asyncio.wait_for(self.evaluate(_APPEARS % json.dumps(selector)), timeout))

    async def screenshot(self) -> bytes:
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])


@contextlib.asynccontextmanager
async def chromium(binary: str | None = None) -> AsyncIterator[DevTools]:
    path = binary or shutil.which("chromium")
    if not path:
        raise RuntimeError("no chromium: install Debian's chromium package (scripts/setup does)")
    with tempfile.TemporaryDirectory(prefix="ivr-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        drain: asyncio.Task[None] | None = None
        try:
            assert process.stderr is not None
            ws_url = await asyncio.wait_for(_devtools_address(process.stderr), TIMEOUT)
            drain = asyncio.create_task(_drain(process.stderr))  # a full pipe would stall Chromium
            port = ws_url.split(":")[2].split("/")[0]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as answer:
                    pages = [t for t in await answer.json() if t["type"] == "page"]
                async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    yield DevTools(ws)
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            if drain is not None:
                drain.cancel()


async def _devtools_address(stderr: asyncio.StreamReader) -> str:
    while True:
        line = (await stderr.readline()).decode()
        if not line:
            raise RuntimeError("chromium exited before opening its DevTools port")
        if line.startswith("DevTools listening on "):
            return line.split(" on ", 1)[1].strip()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
