"""The failover drill of docs/reliability.md, under steady SIP traffic through the edge:

1. SIGKILL one daemon; its node's new calls must reach the other daemon (no apology); restart it.
2. SIGKILL one Asterisk node; Kamailio must take it out within the probe interval and no new call
   may fail after that; restart it and it must take calls again (nothing else restarted).

`drill()` returns the figures (seconds and counts) and says what happens as it goes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cluster import CALLER_ADDRESS, PREFIX, ClusterRun
from .cluster_calls import NodeEvents, Traffic, node_events

Say = Callable[[str], None]


@dataclass
class Figures:
    calls: int = 0
    failed_calls: int = 0
    # SIGKILL of a daemon
    daemon_killed: str = ""
    daemon_calls_in_progress: int = 0  # in its hands at the kill: they took the apology and kc-general
    daemon_new_calls: int = 0  # entered the IVR while it was down
    daemon_new_calls_retried: int = 0  # of those, tried the dead one first and moved on
    daemon_new_calls_fallback: int = 0  # of those, heard the apology (must be 0)
    daemon_rejoined_calls: int = 0  # menus it ran after its restart
    # SIGKILL of an Asterisk node
    node_killed: str = ""
    failover_s: float = 0.0  # kill → Kamailio marks the node inactive
    node_calls_in_progress: int = 0  # answered by the node, still up at the kill
    node_calls_in_progress_fate: dict[str, int] = field(default_factory=dict)
    calls_moved_by_edge: int = 0  # given to the other node by Kamailio's failure_route (dead node silent)
    calls_moved_failed: int = 0
    new_calls_before_detection: int = 0  # sent between the kill and the detection
    new_calls_before_detection_failed: int = 0
    slowest_answer_before_detection_s: float = 0.0  # the failure_route's extra wait
    new_calls_after_detection: int = 0
    new_calls_after_detection_failed: int = 0  # must be 0
    rejoin_s: float = 0.0  # node up again (fully booted) → Kamailio marks it active
    node_calls_after_rejoin: int = 0  # new calls it answered after coming back

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _menus_since(log: Path, offset: int) -> int:
    text = log.read_bytes()[offset:].decode("utf-8", errors="replace") if log.exists() else ""
    return text.count('"menu finished"')


def _merge(events: list[NodeEvents]) -> NodeEvents:
    merged = NodeEvents()
    for i, e in enumerate(events):  # channel names are per node: keep them apart
        merged.entered.update({f"{i}/{k}": v for k, v in e.entered.items()})
        merged.retried.update({f"{i}/{k}": v for k, v in e.retried.items()})
        merged.fallback.update({f"{i}/{k}": v for k, v in e.fallback.items()})
    return merged


def drill(run: ClusterRun, work: Path, say: Say = print, *, rate: float = 2.0, warmup: float = 12.0,
          down: float = 12.0, settle: float = 12.0, hold: float = 15.0) -> Figures:
    assert run.edge is not None and run.network is not None
    figures = Figures()
    nodes = list(run.nodes.values())
    daemons = list(run.daemons.values())
    victim_daemon, victim = daemons[0], nodes[0]
    figures.daemon_killed, figures.node_killed = victim_daemon.name, victim.name
    duration = warmup + 2 * down + 2 * settle + 10
    total = int(duration * rate)
    edge = f"{run.network.cluster.edge.address}:{run.network.cluster.edge.port}"
    traffic = Traffic(work / "sipp", f"{PREFIX}-call", CALLER_ADDRESS, edge, rate=rate, total=total, hold=hold)
    say(f"traffic: {total} calls at {rate:g} calls/s through Kamailio ({edge}), each pressing 2 then 4 "
        f"(English, streets and parks) into kc-streets")
    traffic.start()
    try:
        time.sleep(warmup)
        # --- a daemon ---
        killed_at = time.time()
        victim_daemon.kill()
        say(f"SIGKILL daemon {victim_daemon.name} ({victim_daemon.address})")
        time.sleep(down)
        log = victim_daemon.state_dir / "daemon.log"
        offset = log.stat().st_size
        restarted_at = time.time()
        victim_daemon.start()
        say(f"daemon {victim_daemon.name} restarted ({time.time() - restarted_at:.1f} s); nothing else touched")
        time.sleep(settle)
        events = _merge([node_events(node.log_path()) for node in nodes])
        in_progress = [c for c, t in events.entered.items() if t < killed_at
                       and killed_at <= events.fallback.get(c, 0) <= killed_at + 5]
        new = [c for c, t in events.entered.items() if killed_at < t < restarted_at]
        figures.daemon_calls_in_progress = len(in_progress)
        figures.daemon_new_calls = len(new)
        figures.daemon_new_calls_retried = sum(1 for c in new if c in events.retried)
        figures.daemon_new_calls_fallback = sum(1 for c in new if c in events.fallback)
        figures.daemon_rejoined_calls = _menus_since(log, offset)
        say(f"  while {victim_daemon.name} was down: {figures.daemon_new_calls} new calls, "
            f"{figures.daemon_new_calls_retried} of them tried it first and moved on, "
            f"{figures.daemon_new_calls_fallback} heard the apology; {figures.daemon_calls_in_progress} calls "
            f"in its hands at the kill took the apology and kc-general; after its restart it ran "
            f"{figures.daemon_rejoined_calls} menus")
        # --- an Asterisk node ---
        node_killed_at = time.time()
        victim.kill()
        say(f"SIGKILL Asterisk {victim.name} ({victim.address})")
        figures.failover_s = run.wait_states({victim.address: "I"}, timeout=30)
        detected_at = node_killed_at + figures.failover_s
        say(f"  Kamailio took {victim.name} out after {figures.failover_s:.2f} s; states {run.edge.states()}")
        time.sleep(down)
        started = time.time()
        victim.sandbox("start")
        up_at = time.time()
        figures.rejoin_s = run.wait_states({victim.address: "A"}, timeout=30)
        rejoined_at = up_at + figures.rejoin_s
        say(f"Asterisk {victim.name} restarted ({up_at - started:.1f} s to boot); Kamailio marked it active "
            f"{figures.rejoin_s:.2f} s after it was up; states {run.edge.states()}")
        time.sleep(settle)
        say("waiting for the last calls to end")
        traffic.wait(timeout=hold + 90)
    finally:
        traffic.stop()
    calls = traffic.calls()
    figures.calls = len(calls)
    figures.failed_calls = sum(1 for c in calls if c.failed)
    on_victim = [c for c in calls if c.node == victim.address and c.answered_at is not None
                 and c.answered_at < node_killed_at and (c.ended_at is None or c.ended_at > node_killed_at)]
    figures.node_calls_in_progress = len(on_victim)
    figures.node_calls_in_progress_fate = dict(Counter(c.ended for c in on_victim))
    moved = run.edge.moved_calls(victim.address)
    figures.calls_moved_by_edge = len(moved)
    figures.calls_moved_failed = sum(1 for c in calls if c.call_id in moved and c.failed)
    window = [c for c in calls if node_killed_at <= c.invited_at < detected_at]
    figures.new_calls_before_detection = len(window)
    figures.new_calls_before_detection_failed = sum(1 for c in window if c.failed)
    waits = [c.answered_at - c.invited_at for c in window if c.answered_at is not None]
    figures.slowest_answer_before_detection_s = round(max(waits, default=0.0), 2)
    after = [c for c in calls if c.invited_at >= detected_at]
    figures.new_calls_after_detection = len(after)
    figures.new_calls_after_detection_failed = sum(1 for c in after if c.failed)
    figures.node_calls_after_rejoin = sum(1 for c in calls if c.node == victim.address and c.invited_at > rejoined_at)
    figures.failover_s = round(figures.failover_s, 2)
    figures.rejoin_s = round(figures.rejoin_s, 2)
    say(f"  calls in progress on {victim.name} at the kill: {figures.node_calls_in_progress} "
        f"({figures.node_calls_in_progress_fate}); Kamailio moved {figures.calls_moved_by_edge} calls from it to "
        f"the other node ({figures.calls_moved_failed} failed); new calls before detection: "
        f"{figures.new_calls_before_detection} ({figures.new_calls_before_detection_failed} failed, slowest "
        f"answer {figures.slowest_answer_before_detection_s} s); after detection: "
        f"{figures.new_calls_after_detection} ({figures.new_calls_after_detection_failed} failed); "
        f"{victim.name} answered {figures.node_calls_after_rejoin} new calls after rejoining")
    say(f"all calls: {figures.calls}, failed: {figures.failed_calls}")
    return figures
