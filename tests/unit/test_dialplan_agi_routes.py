"""Every route of the daemons goes through one dialplan subroutine, [ivr-agi] (asterisk-config/
extensions.conf), which tries the daemons of IVR_AGI_HOSTS in turn: the dialplan has one AGI() only,
every route the daemon serves is reached through it, and each call names what the subroutine needs."""

from __future__ import annotations

import re

from test_asterisk_config_split import dialplan, split_args

from ivr.dialplan_variables import SHARED
from ivr.entrypoints import ENTRYPOINTS

GOSUB = re.compile(r"\bGosub\(ivr-agi,")
WHEN = {"unanswered", "failed", "always"}
START = {"random", "first"}


def calls() -> list[tuple[str, str, list[str]]]:
    """(calling context, its line, the Gosub's arguments) for every Gosub into [ivr-agi]."""
    contexts, _ = dialplan()
    found = []
    for context, lines in contexts.items():
        for _, _, text in lines:
            match = GOSUB.search(text)
            if match:
                target = split_args(text[match.end() - len("(ivr-agi,"):])
                label = ",".join(target)
                args = split_args(label[label.index("1(") + 1:]) if "1(" in label else []
                found.append((context, text, args))
    return found


def test_the_dialplan_runs_agi_in_one_place() -> None:
    contexts, lines = dialplan()
    agi = [(context, text) for context, rows in contexts.items() for _, _, text in rows if "AGI(" in text]
    assert [context for context, _ in agi] == ["ivr-agi"]
    assert "agi://${IVR_AGI_TRYING}/${ARG1}${IVR_AGI_ARGS}" in agi[0][1]
    # No route has an address of its own any more: IVR_AGI_HOSTS is the one list.
    assert not [text for _, _, text in lines if re.search(r"agi://(?!\$\{IVR_AGI_TRYING\})", text)]


def test_every_route_of_the_daemon_is_reached_through_the_subroutine() -> None:
    assert {args[0] for _, _, args in calls()} == set(ENTRYPOINTS)


def test_each_call_names_its_answer_when_to_go_on_and_where_to_start() -> None:
    for context, text, args in calls():
        route, answer, when, start, *arguments = args
        assert answer in SHARED or (answer == "" and route == "survey"), text
        assert when in WHEN and start in START, text
        assert len(arguments) <= 3, text  # [ivr-agi] passes ARG5..ARG7
        # Only inbound calls spread over the daemons, and only they go on while the call is unanswered.
        assert (start == "random") == (when == "unanswered") == (route == "inbound"), text
        if when == "always":
            assert route == "agent", f"{context}: only idempotent routes may be tried again after SUCCESS"


def test_a_caller_that_arms_a_watchdog_has_its_own_timeout_extension() -> None:
    contexts, _ = dialplan()
    sub = [text for _, _, text in contexts["ivr-agi"]]
    assert any(text.startswith("exten => T,1,Return(timeout)") for text in sub)
    armed = []
    for context, rows in contexts.items():
        texts = [text for _, _, text in rows]
        if context != "ivr-agi" and any(GOSUB.search(t) for t in texts) \
                and any(re.search(r"TIMEOUT\(absolute\)=(?!0\))", t) for t in texts):
            armed.append(context)
            assert any(t.startswith("exten => T,") for t in texts), context
    assert {"ivr-entry", "ivr-survey", "ivr-queue-exit", "ivr-outbound", "agent-feature",
            "supervisor-spy"} <= set(armed)


def test_the_subroutine_takes_every_callers_extension_but_not_the_hangup_one() -> None:
    contexts, _ = dialplan()
    [pattern] = [m[1] for _, _, text in contexts["ivr-agi"] if (m := re.match(r"exten => _(\S+?),1,", text))]
    # Asterisk's pattern as a regular expression: [...] a character of the set, ! anything (or nothing).
    regex = re.compile(pattern.replace("!", ".*"))
    callers = ("4034100", "+46403410000", "1", "cb12", "login", "pause", "close", "message3", "1001", "s")
    assert [exten for exten in callers if not regex.fullmatch(exten)] == []
    # A hangup during the route looks for h in this context: a match would run the route again on the
    # hung-up channel, and its Return() would carry the dead call on into the caller's context.
    assert not regex.fullmatch("h") and not regex.fullmatch("T")
    assert not any(text.startswith("exten => h,") for _, _, text in contexts["ivr-agi"])
