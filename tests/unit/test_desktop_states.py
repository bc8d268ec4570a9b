"""The supervisor's "time in state" after the daemon restarts: taken from Asterisk's own member times
(QueueStatus' LastPause, LoginTime, LastCall) where they tell when the state began, else from now."""

from __future__ import annotations

from typing import Any

from ivr.agents.control import AgentControl
from ivr.config.holder import ConfigHolder
from ivr.config.loader import ConfigSet
from ivr.desktop.states import AgentStates
from ivr.live.queue_view import Member, QueueView
from ivr.testing.fake_ami import FakeAmi

NOW = 1_790_000_000.0
DESK = "Local/9{extension}@agent-sim/n"


def states_after_restart(config: ConfigSet, *members: Member) -> AgentStates:
    view = QueueView()
    view.replace(sorted({m.queue for m in members}), list(members), [])
    holder = ConfigHolder([], lambda paths: config, initial=config)
    # No AMI action is expected: a disconnected fake refuses any.
    return AgentStates(lambda: view, holder, AgentControl(FakeAmi(connected=False), DESK), clock=lambda: NOW)


def anna(queue: str, **times: Any) -> Member:
    return Member(queue, "Local/91001@agent-sim/n", "anna.andersson", status=1, **times)


def test_a_pause_counts_from_asterisks_last_pause(shipped_config: ConfigSet) -> None:
    states = states_after_restart(shipped_config,
                                  anna("kc-general", paused=True, paused_reason="lunch", paused_at=NOW - 600,
                                       logged_in_at=NOW - 7200),
                                  anna("kc-school", paused=True, paused_reason="lunch", paused_at=NOW - 600))
    state = states.current("anna.andersson")
    assert (state["state"], state["reason"], state["since"]) == ("paused", "lunch", NOW - 600)


def test_available_since_login_or_the_last_call_when_no_pause_came_after(shipped_config: ConfigSet) -> None:
    states = states_after_restart(shipped_config, anna("kc-general", logged_in_at=NOW - 7200, last_call_at=NOW - 90),
                                  anna("kc-school", logged_in_at=NOW - 7200))
    assert states.current("anna.andersson")["since"] == NOW - 90


def test_available_after_a_pause_is_unknown_so_it_counts_from_now(shipped_config: ConfigSet) -> None:
    # Asterisk says when the pause began, not when it ended: the clock starts at the daemon's first sight.
    states = states_after_restart(shipped_config, anna("kc-general", logged_in_at=NOW - 7200, paused_at=NOW - 300))
    assert states.current("anna.andersson")["since"] == NOW


def test_a_change_after_first_sight_counts_from_the_change(shipped_config: ConfigSet) -> None:
    view = QueueView()
    member = anna("kc-general", logged_in_at=NOW - 7200)
    view.replace(["kc-general"], [member], [])
    clock = [NOW]
    holder = ConfigHolder([], lambda paths: shipped_config, initial=shipped_config)
    states = AgentStates(lambda: view, holder, AgentControl(FakeAmi(connected=False), DESK), clock=lambda: clock[0])
    assert states.current("anna.andersson")["since"] == NOW - 7200
    clock[0] += 30
    member.paused, member.paused_at = True, NOW + 29  # the event's LastPause: a second earlier
    assert states.current("anna.andersson")["since"] == NOW + 30  # the change as this daemon saw it
