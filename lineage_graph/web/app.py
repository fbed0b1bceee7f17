"""Build the FastAPI application: REST routes, GraphQL at /graphql (GraphiQL on GET)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIWebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.fastapi import GraphQLRouter

from lineage_graph import __version__
from lineage_graph.app_state import AppState
from lineage_graph.db.migrations import migrate
from lineage_graph.errors import Neo4jUnavailableError
from lineage_graph.graphql.schema import build_schema
from lineage_graph.metrics import METRICS
from lineage_graph.process_tuning import tune_process
from lineage_graph.settings import Settings
from lineage_graph.web.auth import GRAPHQL, check_every_route_declares_access
from lineage_graph.web.dashboard import install_dashboard
from lineage_graph.web.errors import install_error_handlers
from lineage_graph.web.guards import install_guards, scope_route_path
from lineage_graph.web.marquez_routes import router as marquez_router
from lineage_graph.web.openapi import install_openapi
from lineage_graph.web.routes import router
from lineage_graph.web.services import app_state_of

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, apply_schema: bool = True,
               owns_process: bool = False) -> FastAPI:
    """The API. ``owns_process``: the app is what this process runs (``serve``, ``demo``), so
    once started it tunes the process's garbage collector (gc_tuning.py)."""
    settings = settings or Settings.from_env()
    auth_enabled = settings.auth_enabled  # refuses auth off on a non-loopback address

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState.build(settings)
        if apply_schema:
            try:
                count = migrate(state.db)
                state.durable.schema_ready = True
                log.info("schema applied (%d constraints and indexes)", count)
            except Neo4jUnavailableError as exc:
                # Serve anyway: events are spooled, and the schema is applied before the
                # first write once Neo4j answers.
                log.warning("Neo4j unavailable at start-up (%s); events will be spooled", exc)
        else:
            state.durable.schema_ready = True
        app.state.lineage = state
        if auth_enabled:
            log.info("authentication on: API keys required (scopes ingest, read, admin)")
        else:
            log.warning("authentication OFF: the API binds %s (loopback) and "
                        "LINEAGE_GRAPH_AUTH is %s", settings.api_host, settings.auth)
        # Before the background threads start: what they hold is not start-up's to freeze.
        if owns_process:
            collector = tune_process(settings)
            log.info("interpreter tuned: garbage collector %s, thread switch interval %.1f ms; "
                     "event loop %s", f"young threshold {settings.gc_young_threshold}, "
                     "start-up objects frozen" if collector else "as Python sets it",
                     sys.getswitchinterval() * 1000, _loop_name())
        state.drainer.start()
        state.plan_refresher.start()
        try:
            yield
        finally:
            state.plan_refresher.stop()
            state.drainer.stop()
            state.ingest_pool.shutdown(wait=True)  # requests in flight finish their writes
            state.db.close()

    app = FastAPI(
        title="lineage-graph",
        version=__version__,
        description="Lineage for ML and physical-AI teams: OpenLineage ingestion (Marquez's "
        "paths), Marquez-compatible lineage, and GraphQL at /graphql.",
        lifespan=lifespan,
    )

    async def graphql_context(request: Request) -> dict[str, Any]:
        return {"request": request, "services": app_state_of(request)}

    app.add_middleware(RequestTimer)

    # Before any route: a refused body type or host never costs a key lookup (each route's
    # first dependency, web/auth.py).
    install_guards(app, settings, auth_enabled)
    app.include_router(router)
    app.include_router(marquez_router)
    # No subscriptions, so no WebSocket route: the request guards are HTTP middleware and
    # would not see one (strawberry registers it whatever the protocols).
    graphql = GraphQLRouter(build_schema(settings), context_getter=graphql_context,
                            subscription_protocols=(), dependencies=[GRAPHQL])
    graphql.routes = [r for r in graphql.routes if not isinstance(r, APIWebSocketRoute)]
    app.include_router(graphql, prefix="/graphql")
    install_dashboard(app)
    install_error_handlers(app)
    install_openapi(app)
    check_every_route_declares_access(app)
    return app


def _loop_name() -> str:
    """``uvloop.Loop`` as served (web/server.py), ``asyncio...`` elsewhere."""
    loop = type(asyncio.get_running_loop())
    return f"{loop.__module__.split('.')[0]}.{loop.__qualname__}"


class RequestTimer:
    """Request durations by kind of route, as plain ASGI middleware (Starlette's
    ``BaseHTTPMiddleware`` cost about a millisecond per request here)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            METRICS.request_seconds.labels(kind=_route_kind(scope_route_path(scope),
                                                            scope["method"])
                                           ).observe(time.perf_counter() - start)


def _route_kind(path: str, method: str) -> str:
    """A small, fixed label set (never the raw path: that would be unbounded). ``path`` is the
    one routing matches (behind a root path too)."""
    if path.startswith("/api/v1/lineage") and method == "POST":
        return "ingest"
    if path.startswith("/graphql"):
        return "graphql"
    if path.startswith("/api/v1/"):
        return "rest"
    return "other"
