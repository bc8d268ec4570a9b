"""The agents' desktop in a real headless Chromium (Debian's), driven over the DevTools protocol
(ivr.wallboard.browser): pages opened by URL, the keyboard pressed key by key, axe-core (from
node_modules, installed by scripts/setup's `npm ci`) run inside the page, screenshots.

Also the test's side of the daemon: web passwords set with `ivr agents password NAME --stdin`, and
the agents' queue membership as Asterisk reports it (AMI QueueStatus).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ivr.wallboard.browser import DevTools

from .ami import AmiClient, AmiMessage
from .daemon import REPO, DaemonProcess

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA: the level Swedish law asks of the city's public digital services.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# (key, code, Windows virtual key code, text typed)
_KEYS = {
    "Tab": ("Tab", "Tab", 9, ""),
    "Enter": ("Enter", "Enter", 13, "\r"),
    "Space": (" ", "Space", 32, " "),
    "ArrowDown": ("ArrowDown", "ArrowDown", 40, ""),
    "ArrowUp": ("ArrowUp", "ArrowUp", 38, ""),
    "Escape": ("Escape", "Escape", 27, ""),
}
SHIFT = 8


# Put into every document before its own scripts (DevTools-injected, so the page's CSP does not apply):
# script errors, unhandled promise rejections and CSP violations are kept for `errors()`.
_WATCH = """window.__deskErrors = [];
addEventListener('error', (e) => __deskErrors.push('error: ' + e.message));
addEventListener('unhandledrejection', (e) => __deskErrors.push('unhandled: ' + e.reason));
document.addEventListener('securitypolicyviolation',
  (e) => __deskErrors.push('CSP ' + e.violatedDirective + ' blocked ' + e.blockedURI));"""


class Page:
    """One browser page on the daemon's web server."""

    def __init__(self, tools: DevTools, base: str) -> None:
        self.tools = tools
        self.base = base
        self._watching = False

    async def goto(self, path: str) -> None:
        if not self._watching:
            await self.tools.call("Page.enable")
            await self.tools.call("Page.addScriptToEvaluateOnNewDocument", source=_WATCH)
            self._watching = True
        await self.tools.open(f"{self.base}{path}", width=1280, height=900)

    async def errors(self) -> list[str]:
        """Script errors and CSP violations in the current document so far."""
        return list(await self.js("window.__deskErrors || []"))

    async def js(self, expression: str) -> Any:
        return await self.tools.evaluate(expression)

    async def until(self, expression: str, timeout: float = 20.0, what: str = "") -> Any:
        """The value of `expression` once it is truthy (polled: the page changes by itself, over SSE)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                value = await self.js(expression)
            except RuntimeError:
                value = None  # between two pages (a navigation): try again
            if value:
                return value
            if loop.time() > deadline:
                state = await self.js("document.body ? document.body.innerText.slice(0, 3000) : ''")
                raise AssertionError(f"not within {timeout} s: {what or expression}\npage:\n{state}")
            await asyncio.sleep(0.1)

    async def ready(self, path: str, timeout: float = 20.0) -> None:
        """The page at `path` has loaded and its script has finished its first requests."""
        await self.until(f"location.pathname === {json.dumps(path)} && document.readyState === 'complete'"
                         " && document.body.dataset.ready === 'true'", timeout, f"page {path} ready")
        assert await self.errors() == [], f"{path}: {await self.errors()}"

    async def key(self, name: str, *, shift: bool = False) -> None:
        key, code, vk, text = _KEYS[name]
        common: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": vk,
                                  "nativeVirtualKeyCode": vk, "modifiers": SHIFT if shift else 0}
        await self.tools.call("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        await self.tools.call("Input.dispatchKeyEvent", type="keyUp", **common)

    async def type(self, text: str) -> None:
        await self.tools.call("Input.insertText", text=text)

    async def focused(self) -> str:
        """The focused element: its id, or tag[name=value] for radios and such."""
        return str(await self.js("""(() => { const e = document.activeElement;
            if (!e || e === document.body) return 'body';
            return e.id || `${e.tagName.toLowerCase()}[name=${e.name}][value=${e.value}]`; })()"""))

    async def tab_to(self, target: str, limit: int = 40, *, back: bool = False) -> list[str]:
        """Press Tab (Shift+Tab: `back`) until `target` (as `focused` names it) has the focus; the
        elements passed on the way."""
        seen = []
        for _ in range(limit):
            await self.key("Tab", shift=back)
            now = await self.focused()
            seen.append(now)
            if now == target:
                return seen
        raise AssertionError(f"{target} not reached with Tab; focus went {seen}")

    async def tab_until(self, selector: str, limit: int = 60) -> int:
        """Press Tab until the focused element matches the CSS `selector`; how many presses it took."""
        for presses in range(1, limit + 1):
            await self.key("Tab")
            if await self.js(f"document.activeElement.matches({json.dumps(selector)})"):
                return presses
        raise AssertionError(f"nothing matching {selector} reached with Tab; focus is on {await self.focused()}")

    async def focus_visible(self) -> bool:
        """The focused element shows a focus ring (outline) that the keyboard user can see."""
        return bool(await self.js("""(() => {
            const e = document.activeElement; const s = getComputedStyle(e);
            return e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
        })()"""))

    async def text(self, selector: str) -> str | None:
        value = await self.js(f"document.querySelector({json.dumps(selector)})?.textContent ?? null")
        return None if value is None else str(value)

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's WCAG 2.1 A/AA violations on the page as it is now (and no script error or CSP
        violation in it so far)."""
        assert await self.errors() == [], await self.errors()
        if not await self.js("typeof window.axe === 'object'"):
            await self.js(AXE.read_text(encoding="utf-8") + "\n;true")
        tags = json.dumps(WCAG_21_AA)
        result = await self.js(
            f"axe.run(document, {{runOnly: {{type: 'tag', values: {tags}}}, resultTypes: ['violations']}})"
            ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))")
        return list(result)

    async def screenshot(self, path: Path) -> bytes:
        shot = await self.tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        data = base64.b64decode(shot["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    async def sign_in_with_keyboard(self, username: str, password: str) -> None:
        """From the sign-in page: Tab to the user name, type, Tab to the password, type, Enter."""
        await self.tab_to("username")
        await self.type(username)
        await self.key("Tab")
        assert await self.focused() == "password"
        await self.type(password)
        await self.key("Enter")


def set_password(daemon: DaemonProcess, user: str, password: str) -> None:
    """`ivr agents password NAME --stdin`, on the daemon's database (with the shipped config)."""
    done = subprocess.run([sys.executable, "-m", "ivr", "agents", "password", user, "--stdin"],
                          input=password + "\n", capture_output=True, text=True, env=daemon.environment(),
                          cwd=REPO, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


async def members(ami: AmiClient, agent: str) -> dict[str, AmiMessage]:
    """The agent's queue memberships as Asterisk has them, by queue."""
    status = await ami.action_list("QueueStatus")
    return {str(row.Queue): row for row in status if row.Event == "QueueMember" and row.Name == agent}


async def until_members(ami: AmiClient, agent: str, check: Any, timeout: float = 10.0, what: str = "") -> dict[
        str, AmiMessage]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await members(ami, agent)
        if check(rows):
            return rows
        if loop.time() > deadline:
            raise AssertionError(f"Asterisk's queues for {agent} not as expected ({what}): "
                                 f"{ {q: r.as_dict() for q, r in rows.items()} }")
        await asyncio.sleep(0.2)


# Queue members the daemon adds when an agent logs in: the desk phone (PJSIP/<ext>, or the [agent-sim]
# stand-in Local/9<ext>@agent-sim/n when a test sets IVR_AGENT_INTERFACE) and the browser phone.
_DYNAMIC = ("Local/9", "PJSIP/")


def is_stand_in(location: str) -> bool:
    """The sandbox's static queue members (Local/<ext>@agent-sim/n), which answer any call."""
    return location.startswith("Local/") and not location.startswith(_DYNAMIC)


async def log_everyone_out(ami: AmiClient) -> None:
    """Remove every member agents logged in (a test's daemon may have left some behind)."""
    for row in await ami.action_list("QueueStatus"):
        if row.Event == "QueueMember" and str(row.Location).startswith(_DYNAMIC):
            await ami.action("QueueRemove", Queue=row.Queue, Interface=row.Location, check=False)


@contextlib.asynccontextmanager
async def stand_ins_paused(ami: AmiClient, reason: str = "desk_test") -> AsyncIterator[None]:
    """The static stand-ins pause while the test runs, so the agents who log in take the calls."""
    status = await ami.action_list("QueueStatus")
    static = [(str(r.Queue), str(r.Location)) for r in status
              if r.Event == "QueueMember" and is_stand_in(str(r.Location))]
    for queue, location in static:
        await ami.action("QueuePause", Queue=queue, Interface=location, Paused="true", Reason=reason)
    try:
        yield
    finally:
        for queue, location in static:
            await ami.action("QueuePause", Queue=queue, Interface=location, Paused="false", check=False)
