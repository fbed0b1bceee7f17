"""The served OpenAPI document: FastAPI's, completed with what FastAPI cannot see.

Middleware answers (authentication, the request guards) and the GraphQL routes strawberry adds
are invisible to FastAPI's generator; clients and the fuzz test rely on every status code and
content type the API can answer being documented, so they are added here, in one place.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_ERROR = {"application/json": {"schema": {
    "type": "object", "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}}}

# Answered before a route does its own work: the request guards (web/guards.py), the route's
# declared scope (web/auth.py), the error table (web/errors.py).
_EVERY_OPERATION = {
    "401": "No valid API key (when authentication is on)",
    "403": "The API key lacks the scope",
    "421": "Authentication is off and the request did not come to a loopback address",
    "503": "Neo4j is unavailable, or a query ran past LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS",
}
_EVERY_POST = {
    "411": "No Content-Length on a capped body",
    "413": "Body over its limit",
    "415": "Body not declared as JSON (NDJSON for the batch endpoint)",
}

_GRAPHQL_RESULT = {"application/json": {"schema": {
    "type": "object", "properties": {"data": {}, "errors": {"type": "array"}}}}}
_GRAPHQL = {
    "get": {
        "summary": "GraphiQL (HTML) or a query in the URL (JSON)",
        "operationId": "graphql_get",
        "responses": {
            "200": {"description": "GraphiQL for a browser, else the query's result",
                    "content": {**_GRAPHQL_RESULT, "text/html": {"schema": {"type": "string"}}}},
            "400": {"description": "Not a valid GraphQL request", "content": _GRAPHQL_RESULT},
            "404": {"description": "No query and no browser asking for GraphiQL"},
        },
    },
    "post": {
        "summary": "A GraphQL query or mutation (schema: api/schema.graphql)",
        "operationId": "graphql_post",
        "responses": {
            "200": {"description": "The result, with GraphQL errors in `errors`",
                    "content": _GRAPHQL_RESULT},
            "400": {"description": "Not a valid GraphQL request", "content": _GRAPHQL_RESULT},
        },
    },
}


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the completed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes)
            document["paths"]["/graphql"] = _GRAPHQL
            for item in document["paths"].values():
                for method, operation in item.items():
                    extra = dict(_EVERY_OPERATION)
                    if method == "post":
                        extra.update(_EVERY_POST)
                    for status, description in extra.items():
                        operation["responses"].setdefault(
                            status, {"description": description, "content": _ERROR})
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
