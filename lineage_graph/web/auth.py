"""Who may call what over HTTP: each route declares, as a FastAPI dependency, the API-key scope
it needs (``dependencies=[needs(READ)]``, ``needs(INGEST)``) or that it is open (``OPEN``).
``tests/test_auth_and_limits.py`` fails on a route that declares neither.

Callers send ``Authorization: Bearer <key>`` (what openlineage-python's ``api_key`` auth sends).
A missing, malformed, unknown or revoked key is 401 with the same message, so an answer never
tells whether a key exists; a valid key without the route's scope is 403. Both come before the
route reads the body; the request guards (web/guards.py) come before them, and the GraphQL
guard reads and checks a GraphQL body (capped) first. GraphQL mutations need ``ingest`` on top
of ``read``: checked by the resolvers through :func:`lineage_graph.auth.requests.require_scope`,
from the key left on ``request.state.api_key``.

FastAPI's own API-contract pages (OpenAPI, Swagger UI, ReDoc) and the dashboard's static files
are open: they hold no data. Routing answers before any route runs, to anyone: 404 for a path
no route serves, 405 for a method a path does not take, a redirect for a trailing slash.
The app refuses to start when an API route declares no scope
(:func:`check_every_route_declares_access`): a route added without one fails closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, iter_route_contexts

from lineage_graph.auth.keys import ApiKey
from lineage_graph.errors import ForbiddenError, UnauthorizedError
from lineage_graph.web.services import app_state_of

READ = "read"
INGEST = "ingest"


class Access:
    """A route's declaration: the scope it needs, None when open; ``open_when`` opens it for
    some requests (the GraphiQL page: a GET without a query). Run as the route's first
    dependency: it authenticates the caller's key and checks the scope."""

    def __init__(self, scope: str | None,
                 open_when: Callable[[Request], bool] | None = None) -> None:
        self.scope = scope
        self.open_when = open_when

    def scope_for(self, request: Request) -> str | None:
        if self.scope is None or (self.open_when is not None and self.open_when(request)):
            return None
        return self.scope

    async def __call__(self, request: Request) -> None:
        request.state.api_key = None
        scope = self.scope_for(request)
        state = app_state_of(request)
        if scope is None or not state.settings.auth_enabled:
            return
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        # An emitter's key is checked on ingestion's own threads, which heavy queries cannot
        # hold (the key cache makes it a dictionary lookup almost always). Neo4j down while an
        # unseen key is checked: Neo4jUnavailableError, a 503 that never names the server.
        pool = state.ingest_pool if scope == INGEST else None
        key: ApiKey | None = (await asyncio.get_running_loop().run_in_executor(
            pool, state.keys.authenticate, token) if token else None)
        if key is None:
            raise UnauthorizedError("a valid API key is required: Authorization: Bearer <key>")
        if not key.allows(scope):
            raise ForbiddenError(f"this API key lacks the {scope!r} scope")
        request.state.api_key = key


def needs(scope: str) -> DependsParam:
    """A route's ``dependencies=[needs(READ)]``: callers need a key with this scope."""
    declared: DependsParam = Depends(Access(scope))
    return declared


OPEN: DependsParam = Depends(Access(None))
# GraphQL needs `read` (mutations also `ingest`, checked by their resolvers); the GraphiQL page
# (a GET without a query) is open.
GRAPHQL: DependsParam = Depends(Access(READ, open_when=lambda r: r.method == "GET"
                                       and "query" not in r.query_params))


def declared_access(dependencies: Sequence[DependsParam]) -> list[Access]:
    """The Access declarations among a route's dependencies."""
    return [d.dependency for d in dependencies if isinstance(d.dependency, Access)]


def check_every_route_declares_access(app: FastAPI) -> None:
    """Fail closed: the app does not start when one of its API routes declares no scope (or
    two). FastAPI's own contract pages and mounted static files declare none: they are open."""
    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, APIRoute) and len(declared_access(route.dependencies)) != 1:
            raise RuntimeError(f"route {sorted(route.methods or ())} {route.path} must declare who "
                               "may call it once: needs(READ), needs(INGEST) or OPEN")
