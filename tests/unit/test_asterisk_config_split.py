"""Production and test configuration apart: the shipped asterisk-config/ (without sandbox/) holds no
stand-in, and no production context can reach one.

The shipped dialplan is parsed alone — extensions.conf plus the shipped files it #includes, never the
sandbox overlay's extensions_sandbox.conf — and every place a call can go is followed: Goto, GotoIf,
Gosub, GosubIf and hangup handlers (a context), Local/...@<context> channels in Dial or anywhere else,
PJSIP/...@<endpoint> dials (an endpoint of the shipped PJSIP files), `include =>`, and the contexts
that PJSIP endpoints and queues send calls to. Each must resolve to a shipped context (or endpoint).
The daemon's own Local channels (ivr/) are held to the same rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "asterisk-config"
SANDBOX = SHIPPED / "sandbox"
# The stand-ins, by the names the overlay gives them.
STAND_INS = ("caller-sim", "agent-sim", "trunk-sim", "operator-sim")
_INCLUDE = re.compile(r'^#(try)?include\s+"([^"]+)"')
_CONTEXT = re.compile(r"^\[([^\]]+)\]")
_APP = re.compile(r"\b(Goto|GotoIf|Gosub|GosubIf)\(")
_LOCAL = re.compile(r"Local/[^@,)\s]*@([A-Za-z0-9_${}-]+)")
_PJSIP = re.compile(r"PJSIP/[^@,)\s]*@([A-Za-z0-9_${}-]+)")
_HANDLER = re.compile(r"hangup_handler_push\)=([A-Za-z0-9_-]+),")


def conf_lines(name: str, *, seen: set[str] | None = None) -> list[tuple[str, int, str]]:
    """(file, line number, text) of a shipped file with the shipped files it includes, comments
    removed. A #tryinclude of a file that is not shipped (the sandbox overlay's) adds nothing."""
    seen = seen if seen is not None else set()
    if name in seen:
        return []
    seen.add(name)
    out: list[tuple[str, int, str]] = []
    for number, raw in enumerate((SHIPPED / name).read_text(encoding="utf-8").splitlines(), 1):
        include = _INCLUDE.match(raw.strip())
        if include:
            target = include[2]
            if (SHIPPED / target).is_file():
                out += conf_lines(target, seen=seen)
            elif (SANDBOX / target).is_file():
                # The overlay's files: production starts without them.
                assert include[1] == "try", f"{name}:{number} must #tryinclude the overlay's {target}"
            continue
        text = _strip_comment(raw) if raw.lstrip().startswith(("exten", "same")) else raw.split(";", 1)[0].rstrip()
        if text.strip():
            out.append((name, number, text))
    return out


def _strip_comment(line: str) -> str:
    # A dialplan line's comment starts at an unescaped ';' (REGEX patterns may hold '\;').
    return re.split(r"(?<!\\);", line, maxsplit=1)[0].rstrip()


def dialplan() -> tuple[dict[str, list[tuple[str, int, str]]], list[tuple[str, int, str]]]:
    """Shipped contexts → their lines, and all lines."""
    contexts: dict[str, list[tuple[str, int, str]]] = {}
    current = ""
    lines = conf_lines("extensions.conf")
    for where in lines:
        header = _CONTEXT.match(where[2].strip())
        if header:
            current = header[1]
            contexts.setdefault(current, [])
        elif current:
            contexts[current].append(where)
    return contexts, lines


def split_args(text: str) -> list[str]:
    """The arguments of the application call starting at text[0] == '(' (nesting respected)."""
    depth, args, current = 0, [], ""
    for char in text:
        if char == "(":
            depth += 1
            if depth == 1:
                continue
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(current)
                return args
        elif char == "," and depth == 1:
            args.append(current)
            current = ""
            continue
        current += char
    raise AssertionError(f"unbalanced parentheses: {text}")


def destinations(line: str) -> list[str]:
    """The contexts named by Goto/GotoIf/Gosub/GosubIf in one line (a label alone names none)."""
    found = []
    for match in _APP.finditer(line):
        app = match[1]
        body = line[match.end() - 1:]
        if app.endswith("If"):
            inner = ",".join(split_args(body))
            # cond?dest1[:dest2]; the condition may contain '?' only inside ${...}, not here.
            branches = inner.split("?", 1)[1] if "?" in inner else ""
            parts = [b for b in re.split(r":(?![^()]*\))", branches) if b]
        else:
            parts = [",".join(split_args(body))]
        for part in parts:
            pieces = [p.strip() for p in part.split(",")]
            if len(pieces) >= 3:  # context,extension,priority
                found.append(pieces[0])
    return found


def shipped_endpoints() -> set[str]:
    names = set()
    for _, _, text in conf_lines("pjsip.conf"):
        header = _CONTEXT.match(text.strip())
        if header:
            names.add(header[1].split("]")[0])
    return names


def test_the_overlay_files_are_not_shipped() -> None:
    overlay = {p.name for p in SANDBOX.iterdir() if p.is_file() and p.name != "README"}
    assert {"extensions_sandbox.conf", "pjsip_sandbox.conf", "queues_sandbox.conf"} <= overlay
    assert not [name for name in overlay - {"pjsip_trunk.conf"} if (SHIPPED / name).exists()]


def test_no_shipped_context_or_line_names_a_stand_in() -> None:
    contexts, _ = dialplan()
    assert contexts, "no context parsed"
    assert not [name for name in contexts if any(s in name or name.endswith("-sim") for s in STAND_INS)]
    for name in ("extensions.conf", "pjsip.conf", "queues.conf", "manager.conf"):
        for file, number, text in conf_lines(name):
            assert not any(s in text for s in STAND_INS), f"{file}:{number}: {text}"
    # The stand-ins are defined in the overlay, and only there.
    overlay = (SANDBOX / "extensions_sandbox.conf").read_text(encoding="utf-8")
    for stand_in in ("caller-sim", "agent-sim", "trunk-sim"):
        assert f"[{stand_in}]" in overlay


def test_every_destination_of_a_shipped_context_is_shipped() -> None:
    contexts, lines = dialplan()
    endpoints = shipped_endpoints()
    problems = []
    followed = 0
    for file, number, text in lines:
        targets = destinations(text) + _LOCAL.findall(text) + _HANDLER.findall(text)
        followed += len(targets) + len(_PJSIP.findall(text))
        include = re.match(r"\s*include\s*=>\s*([A-Za-z0-9_-]+)", text)
        if include:
            targets.append(include[1])
        for target in targets:
            if "$" in target or target not in contexts:
                problems.append(f"{file}:{number}: {target!r} is not a shipped context: {text.strip()}")
        for endpoint in _PJSIP.findall(text):
            if endpoint not in endpoints:
                problems.append(f"{file}:{number}: PJSIP endpoint {endpoint!r} is not shipped: {text.strip()}")
    assert problems == []
    assert followed >= 30  # the dialplan's routes were really parsed (41 today)


def test_outbound_calls_leave_through_the_real_trunk() -> None:
    contexts, _ = dialplan()
    trunk = " ".join(text for _, _, text in contexts["outbound-trunk"])
    assert _PJSIP.findall(trunk) == ["operator"]
    assert not _LOCAL.findall(trunk) and not destinations(trunk)
    assert "operator" in shipped_endpoints()  # generated pjsip_trunk.conf, included by pjsip.conf


@pytest.mark.parametrize("name", ["pjsip.conf", "queues.conf"])
def test_contexts_that_endpoints_and_queues_send_calls_to_are_shipped(name: str) -> None:
    contexts, _ = dialplan()
    for file, number, text in conf_lines(name):
        key, _, value = (part.strip() for part in text.partition("="))
        if key == "context":
            assert value in contexts, f"{file}:{number}: {text}"
        # No static queue member (the sandbox's stand-in agents are Local members) in production.
        assert key != "member", f"{file}:{number}: {text}"


def test_the_daemons_local_channels_go_to_shipped_contexts() -> None:
    """Code lines of the daemon (comments aside; ivr/testing is the tests' fake Asterisk)."""
    contexts, _ = dialplan()
    used = {match for path in (REPO / "ivr").rglob("*.py") if "testing" not in path.parts
            for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
            for match in _LOCAL.findall(line) if "{" not in match}
    assert used, "no Local channel found in ivr/"
    assert sorted(used - set(contexts)) == []


def test_the_checks_find_a_stand_in_route() -> None:
    """The parsing above does see a route into a stand-in (it would fail on the old [outbound-trunk])."""
    line = "exten => _X.,1,Goto(trunk-sim,${EXTEN},1)"
    assert destinations(line) == ["trunk-sim"]
    assert destinations('same => n,GotoIf($["${X}" = "1"]?agent-sim,s,1:ivr-fallback,s,1)') == ["agent-sim",
                                                                                                   "ivr-fallback"]
    assert _LOCAL.findall("same => n,Dial(Local/${N}@caller-sim/n,30)") == ["caller-sim"]
