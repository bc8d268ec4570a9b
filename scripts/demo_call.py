"""Place one call through the main menu on the sandbox Asterisk and print what happened to it.

The caller (a Local channel running [caller-sim]) presses 2 for English during the language prompts
and 4 for streets and parks during the main menu; an agent (a Local member running [agent-sim])
answers. Uses the daemon's own AMI client (ivr.ami).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import structlog

from ivr.ami.client import AmiClient
from ivr.privacy import mask_number

CALLER = "+46701234567"
WATCHED = ("QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete", "QueueCallerLeave", "Hangup")


async def wait_for_daemon(log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if '"daemon started"' in text and '"ami.connected"' in text:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"the daemon did not start:\n{log.read_text() if log.exists() else '(no log)'}")


def daemon_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in log.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    log = Path(args.log)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    await wait_for_daemon(log)
    ami = AmiClient("127.0.0.1", int(os.environ.get("IVR_AMI_PORT", "5038")), "ivr",
                    os.environ.get("IVR_AMI_SECRET", "ivr-dev-secret"))
    await ami.connect()
    seen: list[Any] = []
    done = asyncio.Event()

    def on_event(message: Any) -> None:
        if message.get("CallerIDNum") != CALLER and message.get("ConnectedLineNum") != CALLER:
            return
        seen.append(message)
        if message.get("Event") == "AgentComplete":
            done.set()

    for name in WATCHED:
        ami.on_event(name, on_event)
    started = time.monotonic()
    print(f"demo: calling 040-34 10 00 from {mask_number(CALLER)}: keys 2 (English), then 4 (streets and parks)")
    await ami.originate(
        "Local/s@caller-sim", context="main-number", exten="4034100", caller_id=f"Demo <{CALLER}>",
        variables={"SIM_DTMF": "ww2wwwwwwwwwwwwww4", "SIM_FIRST_WAIT": "1", "SIM_HOLD": "60",
                   "IVR_TEST_NOW": "2026-12-22T10:00", "__AGENT_TALK": "3"},
    )
    try:
        await asyncio.wait_for(done.wait(), timeout=120)
    except TimeoutError:
        print("demo: the call did not complete within 120 s")
    await ami.close()
    print("\nIVR path (from the daemon's log):")
    for line in daemon_lines(log):
        if line.get("event") == "menu finished":
            for node in line.get("nodes") or []:
                print(f"  → {node}")
            print(f"  = {line['outcome']} → {line.get('queue')} (language {line.get('language')})")
    print("\nQueue (from Asterisk's AMI events):")
    for message in seen:
        event = message.get("Event")
        detail = {k: message.get(k) for k in ("Queue", "Position", "MemberName", "HoldTime", "TalkTime")
                  if message.get(k) not in (None, "")}
        print(f"  {event:<17} {detail}")
    outcome_ok = any(m.get("Event") == "AgentConnect" for m in seen)
    print(f"\ndemo: {'answered by an agent' if outcome_ok else 'NOT answered'} "
          f"after {time.monotonic() - started:.1f} s; caller number in the daemon log: "
          f"{'yes (BUG)' if CALLER[3:] in log.read_text() else 'no, masked'}")
    return 0 if outcome_ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
