"""Debian's headless Chromium with fake media devices, started inside a network namespace and driven
over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, NUL-separated JSON),
since its debugging port would be on the namespace's own loopback, out of the test's reach.

The microphone is Chromium's fake device (a beep every second); the page's console lines are kept
(`console`) for the failure message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from typing import Any

TIMEOUT = 30.0


class PipeDevTools:
    """One page of the browser, attached with a flat session."""

    def __init__(self, reader: asyncio.StreamReader, write_fd: int) -> None:
        self._reader = reader
        self._write_fd = write_fd
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: list[dict[str, Any]] = []
        self.console: list[str] = []
        self.session = ""
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            try:
                raw = await self._reader.readuntil(b"\0")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                break
            message = json.loads(raw[:-1])
            if "id" in message and message["id"] in self._answers:
                self._answers.pop(message["id"]).set_result(message)
            elif message.get("method") == "Runtime.consoleAPICalled":
                args = message["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif message.get("method") == "Runtime.exceptionThrown":
                self.console.append(f"EXCEPTION {message['params']['exceptionDetails']}")
            elif "method" in message:
                self._events.append(message)
        for future in self._answers.values():
            future.set_exception(RuntimeError("chromium closed its DevTools pipe"))

    async def call(self, method: str, *, browser: bool = False, timeout: float = TIMEOUT,
                   **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if not browser and self.session:
            message["sessionId"] = self.session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[ident] = future
        os.write(self._write_fd, json.dumps(message).encode() + b"\0")
        answer = await asyncio.wait_for(future, timeout)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return dict(answer.get("result", {}))

    async def attach(self) -> None:
        targets = await self.call("Target.getTargets", browser=True)
        page = next(t for t in targets["targetInfos"] if t["type"] == "page")
        attached = await self.call("Target.attachToTarget", browser=True, targetId=page["targetId"], flatten=True)
        self.session = attached["sessionId"]
        await self.call("Runtime.enable")
        await self.call("Page.enable")

    async def evaluate(self, expression: str, timeout: float = TIMEOUT) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True,
                                 timeout=timeout)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}\nconsole:\n{self.console_tail()}")
        return result["result"].get("value")

    async def open(self, url: str, width: int = 1280, height: int = 900) -> None:
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                        mobile=False)
        self._events.clear()
        await self.call("Page.navigate", url=url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            if loop.time() > deadline:
                raise AssertionError(f"{url} did not load\nconsole:\n{self.console_tail()}")
            await asyncio.sleep(0.05)

    async def until(self, expression: str, timeout: float = TIMEOUT, what: str = "") -> Any:
        """Poll a page expression until it is truthy; its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError(f"not within {timeout} s: {what or expression}\nconsole:\n{self.console_tail()}")
            await asyncio.sleep(0.2)

    def console_tail(self, lines: int = 30) -> str:
        return "\n".join(self.console[-lines:])

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def chromium_in(netns: str, secure_origin: str, log_path: str) -> AsyncIterator[PipeDevTools]:
    """Chromium in `netns`, treating `secure_origin` (the desktop's http origin) as secure so that
    the page may use the (fake) microphone without TLS, as it does on https in production."""
    binary = shutil.which("chromium")
    if not binary:
        raise RuntimeError("no chromium: install Debian's chromium package (scripts/setup does)")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    # Chromium's helper processes may still be writing the profile for a moment after it is gone.
    with tempfile.TemporaryDirectory(prefix="ivr-webrtc-chromium-", ignore_cleanup_errors=True) as profile, \
            open(log_path, "ab") as log:
        flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--remote-debugging-pipe", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required",
                 f"--unsafely-treat-insecure-origin-as-secure={secure_origin}", "--enable-logging=stderr",
                 "about:blank"]
        # fd 3 and fd 4 of Chromium are the pipe's ends, whatever numbers they have here.
        shell = f'exec 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-; exec "$@"'
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", shell, "bash", "ip", "netns", "exec", netns, binary, *flags,
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(to_browser_r, from_browser_w),
            start_new_session=True)  # its own process group: the renderers etc. end with it
        os.close(to_browser_r)
        os.close(from_browser_w)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                    os.fdopen(from_browser_r, "rb", buffering=0))
        tools = PipeDevTools(reader, to_browser_w)
        try:
            await tools.attach()
            yield tools
        finally:
            with contextlib.suppress(Exception):
                await tools.call("Browser.close", browser=True, timeout=5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
            await tools.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # what is left of the group this test started
            await process.wait()
            transport.close()
            os.close(to_browser_w)


def rtp_counts(channelstats: str, channel: str) -> tuple[int, int]:
    """(packets Asterisk received from, packets it sent to) `channel`, from `pjsip show channelstats`."""
    name = channel.removeprefix("PJSIP/")
    for line in channelstats.splitlines():
        tokens = line.split()
        # The CLI cuts channel names to 18 characters (sipp-citizen-00000).
        found = [i for i, token in enumerate(tokens) if len(token) >= 12 and name.startswith(token)]
        if found:
            at = found[0]
            # ChannelId UpTime Codec | Receive: Count Lost Pct Jitter | Transmit: Count Lost Pct Jitter | RTT
            return int(tokens[at + 3]), int(tokens[at + 7])
    raise AssertionError(f"{channel} not in pjsip show channelstats:\n{channelstats}")
