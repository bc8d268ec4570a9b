"""Table-driven call scenarios (asterisk/testsuite style): YAML in, verdicts out.

A scenario file (tests/integration/scenarios/*.yaml) holds a list of calls, each with what the
FastAGI side does and which AMI events must follow, in order:

    scenarios:
      - name: daemon-down
        doc: Nothing listens on the FastAGI port; the caller is queued after an apology.
        agi: none                  # none | close | {commands: [...], hang: false}
        call:                      # arguments of AmiClient.originate_caller (all optional)
          dtmf: ""
          variables: {IVR_AGI_WATCHDOG: "2"}
        expect:                    # in this order, each after the previous one
          - {Event: VarSet, Variable: AGISTATUS, Value: FAILURE}
          - {Event: QueueCallerJoin, Queue: kc-general}
          - - {Event: AgentConnect}    # a list: these in any order
            - {Event: UserEvent, UserEvent: AgentAnswered}
        forbid:                    # none of these may happen (checked once `expect` is met)
          - {Event: UserEvent, UserEvent: TrunkCall}
        agi_replies:               # reply to each command (script mode)
          "GET DATA beep 4000 1": "200 result=2"
        agi_env: {agi_extension: "4034100"}
        timeout: 20                # seconds for the whole expect list

Header values match exactly, or as a regular expression when they start with "~"; a list means
any of. "{{caller_id}}", "{{uniqueid}}" and "{{exten}}" stand for the call's own values. Only the
call's own events count (its channels, and every channel it created: Linkedid).

Scenarios that need the FastAGI port in different states run in groups: first `none` (nothing
may listen), then `close` (a server that drops every connection), then scripted ones; within a
group all calls run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .ami import AmiClient, AmiMessage, SimCall, new_token, value_matches
from .fake_agi import AGI_HOST, AGI_PORT, AgiScript, AgiSession, FakeAgi, port_in_use

GROUP_ORDER = ("none", "close", "script")
CALL_KEYS = {"exten", "context", "caller_id", "dtmf", "first_wait", "hold", "variables", "caller_name"}


@dataclass
class Scenario:
    name: str
    source: str
    doc: str = ""
    agi_mode: str = "script"
    agi_script: AgiScript = field(default_factory=AgiScript)
    call: dict[str, Any] = field(default_factory=dict)
    # Each item: a header mapping, or a list of them (a group matched in any order).
    expect: list[Any] = field(default_factory=list)
    forbid: list[dict[str, Any]] = field(default_factory=list)
    agi_replies: dict[str, str] = field(default_factory=dict)
    agi_env: dict[str, str] = field(default_factory=dict)
    timeout: float = 20.0


@dataclass
class ScenarioResult:
    scenario: Scenario
    failures: list[str] = field(default_factory=list)
    call: SimCall | None = None
    session: AgiSession | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        """Failures, then the call's dialplan trace and key events, for an assertion message."""
        lines = [f"scenario {self.scenario.name!r} ({self.scenario.source}):"]
        lines += [f"  - {f}" for f in self.failures]
        if self.session is not None:
            lines.append(f"  AGI replies: {self.session.replies}")
        if self.call is not None:
            lines.append("  events of the call:")
            lines += [f"    {_trace(e)}" for e in self.call.events() if _trace(e)]
        return "\n".join(lines)


class ScenarioError(ValueError):
    pass


def load_scenarios(*paths: Path) -> list[Scenario]:
    """Scenarios from YAML files (a directory means all its *.yaml files, sorted)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        defaults = data.get("defaults", {}) or {}
        for i, raw in enumerate(data.get("scenarios", []) or []):
            where = f"{file.name}#{i + 1}"
            scenario = _parse(raw, defaults, where)
            if scenario.name in seen:
                raise ScenarioError(f"{where}: duplicate scenario name {scenario.name!r}")
            seen.add(scenario.name)
            scenarios.append(scenario)
    return scenarios


def _parse(raw: Mapping[str, Any], defaults: Mapping[str, Any], where: str) -> Scenario:
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise ScenarioError(f"{where}: a scenario needs a name")
    known = {"name", "doc", "agi", "call", "expect", "forbid", "agi_replies", "agi_env", "timeout"}
    unknown = set(raw) - known
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    call = {**(defaults.get("call") or {}), **(raw.get("call") or {})}
    bad = set(call) - CALL_KEYS
    if bad:
        raise ScenarioError(f"{where}: unknown call keys {sorted(bad)}")
    if "variables" in call:
        call["variables"] = {str(k): str(v) for k, v in (call["variables"] or {}).items()}
    agi = raw.get("agi", defaults.get("agi", "script"))
    if agi in ("none", "close"):
        mode, script = str(agi), AgiScript()
    elif isinstance(agi, Mapping):
        mode = "script"
        script = AgiScript(
            commands=[str(c) for c in agi.get("commands", []) or []],
            hang=bool(agi.get("hang", False)),
            delay=float(agi.get("delay", 0)),
        )
    else:
        raise ScenarioError(f"{where}: agi must be none, close or a mapping with commands")

    def events(key: str, groups: bool = False) -> list[Any]:
        items = raw.get(key, []) or []
        out: list[Any] = []
        for item in items:
            if groups and isinstance(item, list) and item:
                if not all(isinstance(i, Mapping) and i for i in item):
                    raise ScenarioError(f"{where}: {key}: a group must list header mappings")
                out.append([dict(i) for i in item])
            elif isinstance(item, Mapping) and item:
                out.append(dict(item))
            else:
                raise ScenarioError(f"{where}: {key} must be a list of header mappings")
        return out

    return Scenario(
        name=str(raw["name"]),
        source=where,
        doc=str(raw.get("doc", "")).strip(),
        agi_mode=mode,
        agi_script=script,
        call=call,
        expect=events("expect", groups=True),
        forbid=events("forbid"),
        agi_replies={str(k): str(v) for k, v in (raw.get("agi_replies") or {}).items()},
        agi_env={str(k): str(v) for k, v in (raw.get("agi_env") or {}).items()},
        timeout=float(raw.get("timeout", defaults.get("timeout", 20))),
    )


def _substitute(value: Any, call: SimCall) -> Any:
    if isinstance(value, list):
        return [_substitute(v, call) for v in value]
    if not isinstance(value, str):
        return value if value is None else str(value)
    return (
        value.replace("{{caller_id}}", call.caller_id)
        .replace("{{uniqueid}}", call.uniqueid)
        .replace("{{exten}}", call.exten)
        .replace("{{agi_port}}", str(AGI_PORT))
    )


async def run_scenarios(
    scenarios: list[Scenario],
    ami: AmiClient,
    *,
    agi_host: str = AGI_HOST,
    agi_port: int = AGI_PORT,
) -> dict[str, ScenarioResult]:
    """Run the scenarios against the running Asterisk, group by group, calls of a group
    concurrently. Never raises for a scenario's failure: it is in its result."""
    results: dict[str, ScenarioResult] = {}
    for group in GROUP_ORDER:
        todo = [s for s in scenarios if s.agi_mode == group]
        if not todo:
            continue
        if group == "none":
            if port_in_use(agi_host, agi_port):
                for s in todo:
                    results[s.name] = ScenarioResult(
                        s,
                        [
                            f"something listens on {agi_host}:{agi_port} (an IVR daemon?); "
                            "this scenario needs the port closed"
                        ],
                    )
                continue
            results.update(await _run_group(todo, ami, None))
            continue
        try:
            server = FakeAgi(agi_host, agi_port, mode="close" if group == "close" else "script")
            await server.start()
        except RuntimeError as exc:
            for s in todo:
                results[s.name] = ScenarioResult(s, [str(exc)])
            continue
        try:
            results.update(await _run_group(todo, ami, server))
        finally:
            await server.stop()
    return results


async def _run_group(todo: list[Scenario], ami: AmiClient, server: FakeAgi | None) -> dict[str, ScenarioResult]:
    outcomes = await asyncio.gather(*(_run_one(s, ami, server) for s in todo))
    # Whatever is left of these calls (agents still talking, callers on hold) goes now.
    await ami.hangup_all_sim_calls()
    await _wait_no_sim_channels(ami)
    return {r.scenario.name: r for r in outcomes}


async def _run_one(s: Scenario, ami: AmiClient, server: FakeAgi | None) -> ScenarioResult:
    result = ScenarioResult(s)
    started = time.monotonic()
    token = new_token()
    if server is not None and server.mode == "script":
        server.expect(SimCall.uniqueid_for(token), s.agi_script)
    try:
        call = await ami.originate_caller(token=token, **s.call)
        result.call = call
        deadline = started + s.timeout
        since = call.since
        for i, item in enumerate(s.expect):
            # A list is a group: all of its events, in any order, after the previous item.
            group = item if isinstance(item, list) else [item]
            latest = since
            for raw in group:
                want = {k: _substitute(v, call) for k, v in raw.items()}
                remaining = max(0.1, deadline - time.monotonic())
                try:
                    hit = await call.wait_for(
                        _matcher(want),
                        remaining,
                        since=since,
                        what=f"#{i + 1} {want}",
                    )
                except AssertionError:
                    result.failures.append(
                        f"expected event #{i + 1} {want} did not come within {s.timeout:g} s"
                        + _near_miss(call, want, since)
                    )
                    break
                latest = max(latest, hit.index + 1)
            if result.failures:
                break
            since = latest
        if not result.failures:
            for raw in s.forbid:
                want = {k: _substitute(v, call) for k, v in raw.items()}
                bad = call.events(_matcher(want))
                if bad:
                    result.failures.append(f"forbidden event {want} happened: {bad[0]!r}")
        if server is not None and server.mode == "script" and (s.agi_replies or s.agi_env):
            try:
                session = await server.wait_session(call.uniqueid, timeout=10)
            except TimeoutError:
                result.failures.append("the fake FastAGI server saw no (finished) session")
            else:
                result.session = session
                for key, env_want in s.agi_env.items():
                    got = session.env.get(key)
                    if not value_matches(got, _substitute(env_want, call)):
                        result.failures.append(f"AGI env {key} = {got!r}, expected {env_want!r}")
                for command, reply_want in s.agi_replies.items():
                    got = session.reply_to(command)
                    if not value_matches(got, reply_want):
                        result.failures.append(f"AGI reply to {command!r} = {got!r}, expected {reply_want!r}")
        elif server is not None and server.mode == "script":
            result.session = server.session_for(call.uniqueid)
    except Exception as exc:  # a harness/AMI problem fails this scenario, not the whole run
        result.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        if result.call is not None:
            with contextlib.suppress(Exception):
                await result.call.hangup()
        result.seconds = time.monotonic() - started
    return result


def _matcher(want: Mapping[str, Any]) -> Callable[[AmiMessage], bool]:
    def match(e: AmiMessage) -> bool:
        return e.matches(want)

    return match


def _near_miss(call: SimCall, want: Mapping[str, Any], since: int) -> str:
    """Events of the same kind the call did have, to show what differed."""
    name = want.get("Event")
    if not isinstance(name, str):
        return ""
    same_kind = call.events(lambda e: e.Event == name)
    if not same_kind:
        return f"; the call had no {name} event at all"
    shown = ", ".join(repr(e) for e in same_kind[:4])
    return f"; {name} events of the call: {shown}"


async def _wait_no_sim_channels(ami: AmiClient, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            listing = await ami.action_list("CoreShowChannels")
        except Exception:
            return
        if not any(m.Event == "CoreShowChannel" for m in listing):
            return
        await asyncio.sleep(0.2)


_TRACE_EVENTS = {
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "UserEvent",
    "Hangup",
    "DTMFEnd",
    "DialEnd",
}


def _trace(e: AmiMessage) -> str:
    if e.Event == "Newexten" and (e.Channel or "").endswith(";1") and "@caller-sim" in (e.Channel or ""):
        return f"{e.Context},{e.Exten},{e.Priority}: {e.Application}({e.AppData})"
    if e.Event == "VarSet" and e.Variable in ("AGISTATUS", "PLAYBACKSTATUS", "QUEUESTATUS", "DIALSTATUS"):
        return f"{e.Variable}={e.Value}"
    if e.Event in _TRACE_EVENTS:
        return repr(e)
    return ""
