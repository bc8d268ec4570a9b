"""Mounts the desktop on the wallboard's aiohttp app: the identifying/CSRF middleware, the route
modules' routes (each module exports `routes(ctx) -> list[web.RouteDef]`), and the static files under
`/desk/static/`. `make_context` builds the runtime objects the daemon wires (docs/desktop.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from ivr.agents.control import AgentControl
from ivr.app import App
from ivr.desktop import (
    routes_agent,
    routes_calls,
    routes_events,
    routes_session,
    routes_softphone,
    routes_spy,
    routes_supervisor,
)
from ivr.desktop.auth import make_middleware
from ivr.desktop.context import DesktopContext
from ivr.desktop.feed import StateFeed
from ivr.desktop.hub import DesktopHub
from ivr.desktop.ratelimit import LoginLimiter
from ivr.desktop.routes_softphone import default_socket, socket_policy
from ivr.desktop.states import AgentStates
from ivr.desktop.store import WebStore
from ivr.desktop.users import agent_groups
from ivr.live.queue_view import QueueView

STATIC = Path(__file__).parent / "static"
# Route modules, each `routes(ctx) -> list[web.RouteDef]`.
ROUTE_MODULES = (routes_session, routes_agent, routes_supervisor, routes_events, routes_calls, routes_softphone,
                 routes_spy)


def install(app: web.Application, ctx: DesktopContext) -> None:
    """Add the desktop to a not yet started aiohttp app (the wallboard's)."""
    app.middlewares.append(make_middleware(ctx))
    settings = ctx.app.settings
    socket = default_socket(settings.softphone_ws_url, settings.web_secure_cookies,
                            ctx.app.config.current.rules.cluster)
    app.middlewares.append(socket_policy(socket))  # H4: the softphone's socket
    for module in ROUTE_MODULES:
        app.router.add_routes(module.routes(ctx))
    app.router.add_static("/desk/static/", STATIC, show_index=False)

    async def end_streams(_app: web.Application) -> None:
        ctx.hub.close_all()

    app.on_shutdown.append(end_streams)


def make_context(app: App, view: Callable[[], QueueView], *, store: WebStore | None = None) -> DesktopContext:
    """The desktop's runtime objects for a daemon's `App` and the AMI bridge's live view."""
    settings = app.settings
    if app.ami is None:  # the daemon sets it before wiring the desktop; the AMI connects later
        raise ValueError("the desktop needs the App's AMI port")
    control = AgentControl(app.ami, settings.agent_interface, settings.agent_browser_interface)
    hub = DesktopHub(lambda agent_id: agent_groups(app.config.current, agent_id))
    web_store = store or WebStore(settings.store_url, idle_s=settings.web_session_idle_s,
                                  max_s=settings.web_session_max_s)
    return DesktopContext(
        app=app, hub=hub, store=web_store, view=view, control=control,
        states=AgentStates(view, app.config, control),
        limiter=LoginLimiter(web_store, per_user=settings.web_login_failures_user,
                             per_address=settings.web_login_failures_address, window_s=settings.web_login_window_s))


def state_feed(ctx: DesktopContext) -> StateFeed:
    return StateFeed(ctx.hub, ctx.states)
