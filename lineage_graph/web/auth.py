"""API-key authentication for HTTP: which scope each route needs, 401 and 403 answers.

Callers send ``Authorization: Bearer <key>`` (what openlineage-python's ``api_key`` auth sends).
A missing, malformed, unknown or revoked key is 401 with the same message, so an answer never
tells whether a key exists; a valid key without the scope is 403. GraphQL mutations need
``ingest`` on top of ``read``: checked by the resolvers through
:func:`lineage_graph.auth.requests.require_scope`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from lineage_graph.app_state import AppState
from lineage_graph.errors import ForbiddenError, Neo4jUnavailableError, UnauthorizedError
from lineage_graph.web.errors import error_response

_OPEN = {("GET", "/healthz"), ("GET", "/openapi.json"), ("GET", "/docs"),
         ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"), ("GET", "/")}
_OPEN_PREFIX = "/static/"  # the dashboard's page and scripts: no data in them
_INGEST_PATHS = ("/api/v1/lineage", "/api/v1/lineage/batch", "/api/v1/scenes")


def required_scope(request: Request) -> str | None:
    """The scope a request needs; None for the open routes (health, the API contract, the
    GraphiQL page and the dashboard's page and scripts, which hold no data)."""
    method, path = request.method, request.url.path.rstrip("/") or "/"
    if (method, path) in _OPEN or (method == "GET" and path.startswith(_OPEN_PREFIX)):
        return None
    if path == "/graphql" and method == "GET" and "query" not in request.query_params:
        return None
    if method == "POST" and path in _INGEST_PATHS:
        return "ingest"
    return "read"


def install_auth(app: FastAPI, state: Callable[[], AppState | None]) -> None:
    """Add the middleware; ``state`` returns the app's state, None when auth is off."""

    @app.middleware("http")
    async def authenticate(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.api_key = None
        current = state()
        scope = required_scope(request) if current is not None else None
        if current is None or scope is None:
            return await call_next(request)
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        # An emitter's key is checked on ingestion's own threads, which heavy queries cannot
        # hold (the key cache makes it a dictionary lookup almost always).
        pool = current.ingest_pool if scope == "ingest" else None
        try:
            key = (await asyncio.get_running_loop().run_in_executor(
                pool, current.keys.authenticate, token) if token else None)
        except Neo4jUnavailableError as exc:
            # An unseen key cannot be checked while Neo4j is down; the body never names the
            # server (error_response logs the detail and answers the fixed public message).
            return error_response(exc)
        if key is None:
            return error_response(UnauthorizedError(
                "a valid API key is required: Authorization: Bearer <key>"))
        if not key.allows(scope):
            return error_response(ForbiddenError(f"this API key lacks the {scope!r} scope"))
        request.state.api_key = key
        return await call_next(request)


