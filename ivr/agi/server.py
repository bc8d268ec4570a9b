"""Our FastAGI server: accept, vet the peer, read headers, hand the session to its route handler.

Every failure on one connection (junk, a client closing mid-headers, a handler exception) is
logged and closes that connection only. panoramisk's FastAGI Application is not used: it spins
at 100 % CPU when a client closes mid-headers and has no timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

import structlog
from structlog.typing import FilteringBoundLogger

from ivr.agi.errors import AgiHangup, AgiProtocolError, AgiTimeout
from ivr.agi.peers import PeerAllowlist, is_loopback_host
from ivr.agi.session import STREAM_LIMIT, AgiSession, read_headers
from ivr.channel import CallerHungUp

RouteHandler = Callable[[AgiSession], Awaitable[None]]

# Bound on waiting for cancelled sessions at stop(): a handler that ignores cancellation must not
# keep the daemon from exiting.
_CANCEL_WAIT_S = 2.0


class FastAgiServer:
    """Serve FastAGI routes (`agi://host:port/<route>`) to Asterisk.

    Beyond `max_sessions` running route handlers, new sessions go to `overload_handler` (which
    should only set a variable so the dialplan takes its fallback), or are closed without one.
    """

    def __init__(
        self,
        routes: Mapping[str, RouteHandler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        allowed_peers: frozenset[str] | None = None,
        max_sessions: int = 1000,
        header_timeout: float = 5.0,
        command_timeout: float = 30.0,
        overload_handler: RouteHandler | None = None,
        logger: FilteringBoundLogger | None = None,
    ) -> None:
        allowlist = PeerAllowlist(allowed_peers) if allowed_peers is not None else None
        if not is_loopback_host(host) and not allowlist:
            raise ValueError(f"binding FastAGI to {host!r} needs a non-empty allowed_peers")
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if header_timeout <= 0 or command_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self._routes = MappingProxyType(dict(routes))
        self._host = host
        self._port = port
        self._allowlist = allowlist
        self._max_sessions = max_sessions
        self._header_timeout = header_timeout
        self._command_timeout = command_timeout
        self._overload_handler = overload_handler
        self._log: FilteringBoundLogger = logger or structlog.get_logger("ivr.agi")
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._active = 0
        self._stopping = False

    @property
    def active_sessions(self) -> int:
        """Route handlers running now (the number `max_sessions` limits)."""
        return self._active

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        if self._server is None:
            return ()
        return tuple(self._server.sockets)

    @property
    def port(self) -> int:
        """The bound port (useful with port=0); the configured one before start()."""
        for sock in self.sockets:
            return int(sock.getsockname()[1])
        return self._port

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("FastAGI server already started")
        self._stopping = False
        self._server = await asyncio.start_server(
            self._on_connect, self._host, self._port, limit=STREAM_LIMIT, reuse_address=True
        )
        self._log.info("agi.listening", host=self._host, port=self.port)

    async def stop(self, grace: float) -> None:
        """Stop accepting, give running sessions `grace` seconds, then cancel the rest."""
        self._stopping = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        running = {task for task in self._connections if not task.done()}
        if running:
            _, late = await asyncio.wait(running, timeout=max(grace, 0.0))
            for task in late:
                task.cancel()
            if late:
                self._log.warning("agi.sessions_cancelled", count=len(late))
                await asyncio.wait(late, timeout=_CANCEL_WAIT_S)
        if server is not None:
            # From Python 3.12 this waits for every connection too; bound it like the cancel wait.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_CANCEL_WAIT_S):
                    await server.wait_closed()
        self._log.info("agi.stopped")

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cancelled by stop() after the grace: closing the socket hands the call to the dialplan's
            # fallback. Ending normally keeps Python 3.11's stream callback from logging a traceback.
        except Exception:
            # A bug in this module; it must still cost one connection only.
            self._log.exception("agi.connection_failed")
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer_host(writer)
        if self._allowlist is not None and not self._allowlist.allows(peer):
            self._log.warning("agi.peer_rejected", peer=peer)
            return
        if self._stopping:
            return
        try:
            headers = await read_headers(reader, timeout=self._header_timeout)
        except AgiTimeout:
            self._log.warning("agi.header_timeout", peer=peer, timeout=self._header_timeout)
            return
        except AgiHangup:
            self._log.warning("agi.closed_during_headers", peer=peer)
            return
        except AgiProtocolError as exc:
            self._log.warning("agi.bad_headers", peer=peer, error=str(exc))
            return
        session = AgiSession(reader, writer, headers, command_timeout=self._command_timeout)
        log = self._log.bind(uniqueid=session.uniqueid, channel=session.channel, route=session.route)
        try:
            await self._dispatch(session, log)
        finally:
            await session.close()

    async def _dispatch(self, session: AgiSession, log: FilteringBoundLogger) -> None:
        if self._active >= self._max_sessions:
            if self._overload_handler is None:
                log.warning("agi.overloaded_closed", active=self._active)
                return
            log.warning("agi.overloaded", active=self._active)
            await self._run(self._overload_handler, session, log)
            return
        handler = self._routes.get(session.route)
        if handler is None:
            # Closing without a command: AGISTATUS is SUCCESS (Asterisk 22.10) but IVR_RESULT stays empty, so
            # the dialplan falls back.
            log.warning("agi.unknown_route")
            return
        self._active += 1
        try:
            await self._run(handler, session, log)
        finally:
            self._active -= 1

    async def _run(self, handler: RouteHandler, session: AgiSession, log: FilteringBoundLogger) -> None:
        try:
            await handler(session)
        except asyncio.CancelledError:
            raise
        except (AgiHangup, CallerHungUp):
            log.info("agi.caller_hung_up")
        except Exception:
            log.exception("agi.handler_failed")
        else:
            log.debug("agi.session_done")


def _peer_host(writer: asyncio.StreamWriter) -> str:
    peername = writer.get_extra_info("peername")
    if isinstance(peername, tuple) and peername:
        return str(peername[0])
    return ""
