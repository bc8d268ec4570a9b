"""ivr/ami_events.py is the one list of AMI events the daemon handles: it matches the handlers the daemon
subscribes, and asterisk-config/manager.conf lets through exactly those for the daemon's user."""

from __future__ import annotations

import re
from pathlib import Path

from ivr.ami_events import DAEMON_EVENTS, EVENT_CLASSES, LOGIN_EVENT_CLASSES
from ivr.daemon import Daemon
from ivr.settings import Settings

REPO = Path(__file__).resolve().parents[2]
# Events the daemon waits for without an on_event() handler: AmiClient.originate's answer.
AWAITED_BY_ACTIONS = {"OriginateResponse"}


async def test_the_list_is_every_event_the_daemon_subscribes(tmp_path: Path) -> None:
    # Everything wired: the desktop (wallboard port), the supervision, callbacks, contacts, the bridge.
    daemon = Daemon(Settings(config_paths=[str(REPO)], agi_port=0, state_dir=tmp_path, ami_secret="", mqtt_host="",
                             wallboard_port=18099))
    subscribed = daemon.ami.subscribed
    assert all("*" not in p and "?" not in p for p in subscribed), subscribed  # names Asterisk can filter on
    assert subscribed | AWAITED_BY_ACTIONS == DAEMON_EVENTS


def _section(text: str, name: str) -> str:
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, name
    return match.group(1)


def test_manager_conf_lets_the_daemons_user_have_exactly_those_events() -> None:
    section = _section((REPO / "asterisk-config" / "manager.conf").read_text(encoding="utf-8"), "ivr")
    filters = re.findall(r"^eventfilter\(action\(include\),name\((\w+)\)\) =\s*$", section, re.MULTILINE)
    assert sorted(filters) == sorted(DAEMON_EVENTS)
    assert not re.search(r"^eventfilter(?!\(action\(include\),name\(\w+\)\) =\s*$)", section, re.MULTILINE)
    # The user may read every class the login asks for.
    read = re.search(r"^read = (.*)$", section, re.MULTILINE)
    assert read and set(LOGIN_EVENT_CLASSES.split(",")) <= set(read.group(1).split(","))
    assert set(EVENT_CLASSES.values()) == set(LOGIN_EVENT_CLASSES.split(","))
