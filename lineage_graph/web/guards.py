"""Request guards that run before authentication: what a browser page must not be able to do.

A web page the user visits can send a CORS "simple" request (``text/plain``, form encodings)
to the local API without a preflight, and a DNS-rebinding page can make its own host name point
at 127.0.0.1. So every POST body must be declared JSON (NDJSON where a batch is accepted), which
no simple request can declare, and, when authentication is off, the Host header must name this
machine (loopback names) or a host the operator allowed (LINEAGE_GRAPH_ALLOWED_HOSTS).

GraphQL bodies are parsed by strawberry, which trusts ``json.loads``: they are read here first,
capped at LINEAGE_GRAPH_GRAPHQL_MAX_BYTES (413) and checked like every other JSON this API takes
(nesting, NaN, numbers and strings Neo4j cannot carry: 400 naming the place).
"""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage_graph.errors import (
    InvalidRequestError,
    LengthRequiredError,
    LineageGraphError,
    MisdirectedRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from lineage_graph.json_limits import JsonValueError, loads
from lineage_graph.settings import Settings, is_loopback_host
from lineage_graph.web.errors import error_response

JSON_TYPES = frozenset({"application/json"})
BATCH_TYPES = frozenset({"application/json", "application/x-ndjson"})
_BATCH_PATH = "/api/v1/lineage/batch"
_GRAPHQL_PATH = "/graphql"


# The routes that read a request body. A POST elsewhere (a Marquez write method, an unknown
# path) reads none: routing answers it (405, 404).
_BODY_PATHS = frozenset({"/api/v1/lineage", _BATCH_PATH, "/api/v1/scenes", _GRAPHQL_PATH})


def body_type_problem(request: Request) -> UnsupportedMediaTypeError | None:
    """The error for a POST whose Content-Type is not one this route reads, else None."""
    path = request.url.path.rstrip("/")
    if request.method != "POST" or path not in _BODY_PATHS:
        return None
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    accepted = BATCH_TYPES if path == _BATCH_PATH else JSON_TYPES
    if media_type in accepted or (media_type.startswith("application/")
                                  and media_type.endswith("+json")):
        return None
    return UnsupportedMediaTypeError(
        f"Content-Type {declared or '(none)'!r} is not accepted here: send "
        + " or ".join(sorted(accepted)), field="Content-Type")


_FORWARDING = ("forwarded", "x-forwarded-for", "x-real-ip")


def host_problem(request: Request, allowed: frozenset[str]) -> MisdirectedRequestError | None:
    """With auth off: the error for a request that did not come from this machine to a
    loopback address: a Host naming neither this machine nor an allowed host, a connection on a
    non-loopback local address (an app served on 0.0.0.0 outside `serve`), or a request a
    proxy forwarded (a proxy on this machine would otherwise publish an API without keys)."""
    server = request.scope.get("server") or ("", 0)
    if _is_ip(server[0]) and not is_loopback_host(server[0]):
        return MisdirectedRequestError(
            f"this API has no authentication and serves loopback only; the request came to "
            f"{server[0]} (set LINEAGE_GRAPH_AUTH=on to serve other addresses)")
    forwarded = [h for h in _FORWARDING if h in request.headers]
    if forwarded:
        return MisdirectedRequestError(
            f"a proxy forwarded this request ({forwarded[0]}) to an API without "
            "authentication: set LINEAGE_GRAPH_AUTH=on behind a proxy", field=forwarded[0])
    header = request.headers.get("host", "")
    host = _host_without_port(header)
    if host and (is_loopback_host(host) or host in allowed):
        return None
    return MisdirectedRequestError(
        f"Host {header or '(none)'!r} is not served by this API while authentication is off "
        "(allowed: loopback names and LINEAGE_GRAPH_ALLOWED_HOSTS)", field="Host")


def graphql_length_problem(request: Request, max_bytes: int) -> LineageGraphError | None:
    """For a GraphQL POST: the error for a missing or too large Content-Length, else None (the
    body is then read and checked by ``graphql_body_problem``)."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return LengthRequiredError("a GraphQL POST needs a Content-Length", field="Content-Length")
    if int(declared) > max_bytes:
        return PayloadTooLargeError(f"GraphQL body of {declared} bytes exceeds the limit of "
                                    f"{max_bytes} (setting LINEAGE_GRAPH_GRAPHQL_MAX_BYTES)")
    return None


def graphql_body_problem(body: bytes) -> LineageGraphError | None:
    """Check a GraphQL POST body before strawberry parses it."""
    try:
        loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return InvalidRequestError(f"GraphQL body is not UTF-8 (byte {exc.start})")
    except JsonValueError as exc:
        where = f" at {exc.path}" if exc.path else ""
        return InvalidRequestError(f"GraphQL body{where}: {exc.problem}", field=exc.path or None)
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_without_port(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:5000
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class RequestGuards:
    """The guards as plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` cost about a
    millisecond per request here: a task and a response stream per request). A GraphQL body is
    read here, checked, and handed on to strawberry unchanged (``_replay``)."""

    def __init__(self, app: ASGIApp, settings: Settings, auth_enabled: bool) -> None:
        self.app = app
        self.settings = settings
        self.allowed = frozenset(settings.allowed_hosts)
        self.auth_enabled = auth_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        problem: LineageGraphError | None = (
            (None if self.auth_enabled else host_problem(request, self.allowed))
            or body_type_problem(request))
        if (problem is None and request.method == "POST"
                and request.url.path.rstrip("/") == _GRAPHQL_PATH):
            problem = graphql_length_problem(request, self.settings.graphql_max_bytes)
            if problem is None:
                body, receive = await _replay(receive)
                problem = graphql_body_problem(body)
        if problem is not None:
            await error_response(problem)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _replay(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body (its Content-Length is within the limit, and the server does not
    deliver more than it declares) and a ``receive`` that hands it on, then the client's own
    messages (a disconnect)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def install_guards(app: FastAPI, settings: Settings, auth_enabled: bool) -> None:
    app.add_middleware(RequestGuards, settings=settings, auth_enabled=auth_enabled)
