"""`ivr run`: the FastAGI server, the AMI connection, signals (SIGHUP reload, SIGTERM graceful stop)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

import structlog

from ivr.agents.control import AgentControl
from ivr.agi.server import FastAgiServer
from ivr.agi.session import AgiSession
from ivr.ami.client import AmiClient
from ivr.ami.errors import AmiAuthError, AmiError
from ivr.ami_events import LOGIN_EVENT_CLASSES
from ivr.app import App
from ivr.callbacks.sealing import NumberSeal
from ivr.callbacks.service import CallbackService
from ivr.calls import CallRegistry
from ivr.clock import Clock, SchedulerClock
from ivr.cluster.agents import AgentSession, AgentSessions
from ivr.cluster.link import ClusterLink
from ivr.config.holder import ConfigHolder
from ivr.config.loader import ConfigSet
from ivr.contacts.dial_end import DialEndListener
from ivr.contacts.precall import GatewayKey, PrecallNotifier
from ivr.contacts.purge import PurgeLoop
from ivr.contacts.registry import ContactRegistry
from ivr.contacts.services import ContactServices
from ivr.desktop.calls import DesktopCalls
from ivr.desktop.context import DesktopContext
from ivr.desktop.server import install, make_context, state_feed
from ivr.desktop.store import WebStore
from ivr.dialplan_variables import IVR_OVERLOAD
from ivr.entrypoints import ENTRYPOINTS, EntryPoint
from ivr.events.mqtt import MqttConfig, MqttPublisher
from ivr.events.sink import FanoutSink
from ivr.filemodes import private_dir, private_sqlite
from ivr.injected_leak import CallLeak, leak_from_environment
from ivr.keys import hash_key, recording_key
from ivr.live.ami_bridge import AmiBridge
from ivr.privacy import NumberHasher
from ivr.queues.live import LiveQueues
from ivr.recordings.cipher import RecordingCipher
from ivr.recordings.keeper import RecordingKeeper
from ivr.recordings.vault import RecordingVault
from ivr.records.agent_log import AgentLog
from ivr.records.recorder import CallRecorder
from ivr.records.writer import RecordWriter, with_connect_timeout
from ivr.settings import Settings
from ivr.store.db import open_database
from ivr.supervision.wiring import spy_service
from ivr.tasks import cancel_and_wait
from ivr.validate import load_config
from ivr.wallboard.server import Wallboard
from ivr.wallboard.state import WallboardState

log = structlog.get_logger("ivr.daemon")


class Service(Protocol):
    """Something the daemon starts after the FastAGI server and stops in reverse order."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_app(settings: Settings) -> App:
    holder = ConfigHolder(settings.config_paths, load_config)
    hasher = NumberHasher(hash_key(settings.state_dir))
    zone = holder.current.zone
    return App(settings=settings, config=holder, hasher=hasher, calls=CallRegistry(hasher),
               clock=Clock(zone, allow_test_clock=settings.allow_test_clock,
                           epoch=SchedulerClock.for_daemon(settings.state_dir,
                                                           allow_test_clock=settings.allow_test_clock)))


def reconnect_max_s(settings: Settings, config: ConfigSet) -> float:
    """IVR_AMI_RECONNECT_MAX_S, or by default 30 s, 5 s in a cluster (docs/cluster.md)."""
    if settings.ami_reconnect_max_s > 0:
        return max(settings.ami_reconnect_max_s, 0.5)
    return 5.0 if config.rules.cluster is not None else 30.0


def bind_route(app: App, entry: EntryPoint, leak: CallLeak | None = None) -> Callable[[AgiSession], Awaitable[None]]:
    async def route(session: AgiSession) -> None:
        try:
            await entry(app, session)
        finally:
            app.calls.end(session.headers.get("uniqueid", ""))
            if leak is not None:
                leak.call_ended()

    return route


async def overloaded(session: AgiSession) -> None:
    # Leaving IVR_RESULT empty sends the caller down the dialplan's fallback path at once.
    log.warning("overloaded: call sent to the fallback path", uniqueid=session.headers.get("uniqueid"))
    with contextlib.suppress(Exception):
        await session.command("SET VARIABLE", IVR_OVERLOAD, "1")


class Daemon:
    """The running service. `serve()` runs it until SIGTERM/SIGINT; tests call start() and stop()."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self.leak = leak_from_environment(test_mode=settings.allow_test_clock)  # the soak's proof only
        routes = {name: bind_route(self.app, entry, self.leak) for name, entry in ENTRYPOINTS.items()}
        self.server = FastAgiServer(routes, host=settings.agi_host, port=settings.agi_port,
                                    allowed_peers=settings.agi_allowed_peers or None,
                                    max_sessions=settings.max_sessions, overload_handler=overloaded,
                                    logger=structlog.get_logger("ivr.agi"))
        self.pid_file = settings.state_dir / "ivr.pid"
        # Only the classes of the events the daemon handles (manager.conf filters the names).
        self.ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, settings.ami_secret,
                             reconnect_backoff=(0.5, reconnect_max_s(settings, self.app.config.current)),
                             events=LOGIN_EVENT_CLASSES, logger=structlog.get_logger("ivr.ami"))
        self.app.ami = self.ami
        self._ami_task: asyncio.Task[None] | None = None
        self._reload_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._wire_events()
        self._wire_supervision()
        self._wire_queues()
        self._wire_contacts()
        self._wire_cluster()
        self._wire_recordings()

    def _wire_events(self) -> None:
        """Consumers of product events (docs/EVENTS.md): call records, the AMI bridge, MQTT, the wallboard."""
        settings, fanout = self.settings, self.app.events
        assert isinstance(fanout, FanoutSink)
        site = settings.mqtt_site or self.app.config.current.rules.site
        self.records = RecordWriter(settings.store_url,
                                    settings.state_dir / "records-spool.jsonl",
                                    write_timeout_s=settings.db_write_timeout_s)
        # Agents' states and unanswered rings, for `ivr report --agents` (docs/reports.md).
        self.agent_log = AgentLog(settings.store_url, settings.state_dir / "agent-events-spool.jsonl",
                                  write_timeout_s=settings.db_write_timeout_s)
        self.bridge = AmiBridge(fanout, hasher=self.app.hasher, snapshot_every=settings.queue_snapshot_s)
        self.bridge.attach(self.ami)  # before the first login, so that it re-synchronises too
        self.mqtt = MqttPublisher(MqttConfig(settings.mqtt_host, settings.mqtt_port, site, settings.mqtt_username,
                                             settings.mqtt_password, settings.mqtt_backlog)) \
            if settings.mqtt_host else None
        bridge = self.bridge
        # The agents' desktop (docs/desktop.md) is served by the wallboard's web server.
        self.desktop: DesktopContext | None = make_context(self.app, lambda: bridge.view) \
            if settings.wallboard_port else None
        desktop = self.desktop
        self.wallboard = Wallboard(WallboardState(site=site, zone=self.app.clock.zone), settings.wallboard_host,
                                   settings.wallboard_port,
                                   extend=(lambda web_app: install(web_app, desktop)) if desktop else None) \
            if settings.wallboard_port else None
        fanout.add(CallRecorder(self.records))
        fanout.add(self.agent_log)
        fanout.add(self.bridge)
        if self.mqtt:
            fanout.add(self.mqtt)
        if self.wallboard:
            fanout.add(self.wallboard.state)
        if desktop:
            fanout.add(state_feed(desktop))
        # Started in this order, stopped in reverse (the records writer flushes last).
        self._services: list[Service] = [
            s for s in (self.records, self.agent_log, self.mqtt, desktop.store if desktop else None, self.wallboard,
                        self.bridge)
            if s is not None]

    def _wire_supervision(self) -> None:
        """Supervisors listening in (docs/queues-and-agents.md): the FastAGI route `spy` and the desktop's
        button share one SpyService, audited in the desktop's store (its own when the desktop is off)."""
        desktop, bridge = self.desktop, self.bridge
        store = desktop.store if desktop is not None else WebStore(self.settings.store_url)
        if desktop is None:
            self._services.append(store)
        hub = desktop.hub if desktop is not None else None
        # `is not None`: a hub without pages open is falsy (it has a length).
        notify = (lambda _supervisor, agent, data: hub.to_supervisors(agent, "spy", data)) if hub is not None else None
        self.app.spy = spy_service(self.app.config, self.app.settings, self.ami, lambda: bridge.view, store.audit,
                                   notify)

    def _wire_contacts(self) -> None:
        """Outbound calls and returning callers (docs/privacy-and-caller-id.md): the contact registry in
        the records database, its periodic purge and the pre-call notices. (The dialplan's caller-ID
        table for when the daemon is down is generated: `ivr asterisk generate`.)"""
        settings = self.settings
        registry = ContactRegistry(settings.store_url)
        key = GatewayKey.from_file(Path(settings.precall_key_file)) if settings.precall_key_file else None
        self.app.contacts = ContactServices(registry, PrecallNotifier(self.app.events, key))
        self.purge = PurgeLoop(registry, self.app.config, node=settings.node_id)
        DialEndListener(registry).attach(self.ami)
        self._services += [registry, self.purge]

    def _wire_queues(self) -> None:
        """Queues (docs/queues-and-agents.md): the router sees the live queues through the AMI bridge's
        view; queued callbacks live in the records database, their numbers sealed with IVR_CALLBACK_KEY."""
        settings, bridge = self.settings, self.bridge
        self.app.queues.load = LiveQueues(lambda: bridge.view,
                                          lambda: self.ami.connected and bridge.resyncs > 0).load
        seal = NumberSeal.from_environment(settings.state_dir)
        self.callbacks = CallbackService(self.app.config, settings.store_url, seal, self.app.events,
                                         view=lambda: bridge.view, scan_every=settings.callback_scan_s,
                                         node=settings.node_id, lease_s=settings.callback_lease_s,
                                         clock=SchedulerClock.for_daemon(settings.state_dir,
                                                                         allow_test_clock=settings.allow_test_clock))
        self.callbacks.attach(self.ami)
        self.app.callbacks = self.callbacks
        self._services.append(self.callbacks)
        if self.desktop is not None:  # screen pops and the groups' live pictures (ivr.desktop.calls)
            desktop, callbacks, holder = self.desktop, self.callbacks, self.app.config
            desktop.callbacks_pending = callbacks.pending
            desktop.calls = DesktopCalls(lambda: holder.current, desktop.hub, view=lambda: bridge.view,
                                         callbacks_pending=callbacks.pending)
            assert isinstance(self.app.events, FanoutSink)
            self.app.events.add(desktop.calls)

    def _wire_cluster(self) -> None:
        """Several daemons (docs/cluster-operations.md): this node's health on the broker, the other
        nodes' on the wallboard, `ivr reload --all` arriving as a command, and (with a `cluster:`) the
        agents' queue sessions on every node's Asterisk (ivr.cluster.agents)."""
        settings = self.settings
        if self.mqtt is None:
            self.cluster: ClusterLink | None = None
            return
        wallboard = self.wallboard
        sessions = AgentSessions(settings.node_id, lambda: self.app.config.current, self._agent_control,
                                 self._publish_agent, time.time)
        self.cluster = ClusterLink(self.mqtt.config, settings.node_id, self.health, every_s=settings.cluster_health_s,
                                   on_reload=lambda _by: self.request_reload(),
                                   on_nodes=wallboard.state.set_nodes if wallboard else None,
                                   on_agent=lambda session: self._spawn(sessions.received(session)),
                                   key=settings.cluster_key.encode())
        self.app.agent_sessions = sessions
        # A node whose Asterisk restarted (or whose AMI was away) gets every agent's session again.
        self.ami.on_reconnect(lambda: self._spawn(sessions.reapply()))
        self._services.append(self.cluster)

    def _wire_recordings(self) -> None:
        """Recorded calls (docs/recordings.md): consent rows, sealing at the hangup, the retention sweep."""
        settings = self.settings
        vault = RecordingVault(Path(settings.recording_dir) if settings.recording_dir
                               else settings.state_dir / "recordings",
                               settings.recording_spool, RecordingCipher(recording_key(settings.state_dir)))
        ahead = settings.test_recording_ahead_s if settings.allow_test_clock else 0.0
        self.recordings = RecordingKeeper(with_connect_timeout(settings.store_url), vault,
                                          sweep_s=settings.recording_sweep_s,
                                          clock=lambda: time.time() + ahead)
        self.recordings.attach(self.ami)
        self.app.recordings = self.recordings
        self._services.append(self.recordings)
    def _agent_control(self) -> AgentControl | None:
        if not self.ami.connected:
            return None
        return AgentControl(self.ami, self.settings.agent_interface, self.settings.agent_browser_interface)

    async def _publish_agent(self, session: AgentSession) -> None:
        assert self.cluster is not None
        await self.cluster.publish_agent(session)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def health(self) -> dict[str, object]:
        """What this node publishes about itself (ivr.cluster.health): never a number or a name."""
        store_open = self.callbacks.store_open
        return {"healthy": self.ami.connected and store_open, "config_version": self.app.config.current.version,
                "calls": len(self.app.calls), "ami": self.ami.connected, "store": store_open, "pid": os.getpid()}

    async def start(self) -> None:
        await self.server.start()
        private_dir(self.settings.state_dir)  # spools and the embedded database: owner only
        private_sqlite(self.settings.store_url)
        self.pid_file.write_text(str(os.getpid()))
        await self._migrate_once()
        for service in self._services:
            try:
                await service.start()
            except Exception:  # e.g. its database is down: calls must still be served without it
                log.exception("service failed to start; calls go on without it", service=type(service).__name__)
        if not self.mqtt:
            log.info("MQTT publishing off (IVR_MQTT_HOST is empty)")
        if self.settings.ami_secret:
            self._ami_task = asyncio.create_task(self._connect_ami(), name="ami-connect")
        else:
            log.warning("no AMI secret (IVR_AMI_SECRET or IVR_AMI_SECRET_FILE): running without AMI")
        if self.leak is not None:
            log.warning("test leak on: keeping bytes for every call (IVR_TEST_LEAK_BYTES_PER_CALL)",
                         bytes_per_call=self.leak.bytes_per_call)
        log.info("daemon started", agi=f"{self.settings.agi_host}:{self.server.port}",
                 routes=sorted(ENTRYPOINTS), config_version=self.app.config.current.version,
                 test_clock=self.settings.allow_test_clock)

    async def _migrate_once(self) -> None:
        """Migrate the database before the services that share it open it: on a fresh database,
        concurrent migrations fail all but one (UNIQUE schema_migrations.name)."""
        url = with_connect_timeout(self.settings.store_url)
        try:
            await asyncio.to_thread(lambda: open_database(url).close())
        except Exception as exc:  # down: each service retries on its own
            log.warning("database not reachable at start", error=str(exc)[:200])

    async def _connect_ami(self) -> None:
        """Calls are served whether or not AMI is up; keep trying until the first login works."""
        delay = 0.5
        while True:
            try:
                await self.ami.connect()
                return
            except AmiAuthError:
                log.error("AMI login refused: check IVR_AMI_USER and the secret; not retrying")
                return
            except AmiError as exc:
                log.warning("AMI not reachable yet; retrying", error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def reload(self) -> None:
        """SIGHUP: load the config again; whatever goes wrong, calls keep the last good one.

        Parsing and checking run in a thread (a large config takes over a second: calls must not hear
        that as dead air); the swap itself is one assignment. Reloads never overlap.
        """
        async with self._reload_lock:
            try:
                await asyncio.to_thread(self.app.config.reload)
            except Exception as exc:  # a file the loader chokes on (e.g. nested too deep) must not escape
                log.error("reload failed; keeping the last good config",
                          error=f"{type(exc).__name__}: {exc}"[:300],
                          paths=[str(p) for p in self.app.config.paths], version=self.app.config.current.version)
            if self.cluster is not None:  # the new config version, at once
                with contextlib.suppress(Exception):
                    await self.cluster.publish_now()

    def request_reload(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload(), name="config-reload")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self, grace: float = 10.0) -> None:
        log.info("stopping: no new sessions; waiting for running ones", active=len(self.app.calls))
        await self.server.stop(grace=grace)
        await cancel_and_wait(self._ami_task)
        await self.ami.close()
        for service in reversed(self._services):
            try:
                await service.stop()
            except Exception:  # the services after it (the records writer last) must still flush
                log.exception("service failed to stop", service=type(service).__name__)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        log.info("daemon stopped")


def tune_garbage_collector() -> None:
    """Measured in bench/ on 26 November (BENCHMARKS.md): with 2,000 calls in flight the default thresholds spent ~30 %
    of the CPU in the collector and each full collection paused every call ~150 ms (p99 347 ms → 43 ms
    with this). Objects alive after start-up (config, modules) are frozen out of collections, and young
    collections run less often; reference counting still frees almost everything at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


async def serve(settings: Settings) -> None:
    daemon = Daemon(settings)
    await daemon.start()
    tune_garbage_collector()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)
    try:
        await stopping.wait()
    finally:
        await daemon.stop(grace=settings.stop_grace_s)
