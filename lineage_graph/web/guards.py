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


def route_path(request: Request) -> str:
    """The path routing matches (without the app's root path, as the router strips it; the
    URL's path keeps it, and a guard comparing that would miss every route behind a root
    path), without a trailing slash."""
    return scope_route_path(request.scope)


def scope_route_path(scope: Scope) -> str:
    """:func:`route_path` of an ASGI scope (for middleware, which has no request). The root
    path is stripped as Starlette's router strips it: only a whole leading segment (a root
    path "/g" does not turn "/graphql" into "raphql")."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root):]
    return path.rstrip("/")


def body_type_problem(request: Request) -> UnsupportedMediaTypeError | None:
    """The error for a POST whose Content-Type is not one this route reads, else None."""
    path = route_path(request)
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


def graphql_body_problem(body: bytes, what: str = "GraphQL body") -> LineageGraphError | None:
    """Check a GraphQL POST body (or a GET query's JSON parameter) before strawberry parses
    it."""
    try:
        loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return InvalidRequestError(f"{what} is not UTF-8 (byte {exc.start})")
    except JsonValueError as exc:
        where = f" at {exc.path}" if exc.path else ""
        return InvalidRequestError(f"{what}{where}: {exc.problem}", field=exc.path or None)
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
        graphql = problem is None and route_path(request) == _GRAPHQL_PATH
        if graphql and request.method == "GET":
            # A query sent by GET carries its variables as JSON in the URL: checked alike.
            problem = next(filter(None, (
                graphql_body_problem(value.encode("utf-8"), f"GraphQL {key} parameter")
                for key in ("variables", "extensions")
                for value in request.query_params.getlist(key))), None)
        elif graphql and request.method == "POST":
            problem = graphql_length_problem(request, self.settings.graphql_max_bytes)
            if problem is None:
                limit = self.settings.graphql_max_bytes
                read = await _replay(receive, limit)
                if read is None:
                    return  # the client went away mid-body: nobody to answer
                body, receive = read
                problem = (graphql_body_problem(body) if body is not None else
                           PayloadTooLargeError(f"GraphQL body exceeds the limit of {limit} "
                                                "bytes (setting LINEAGE_GRAPH_GRAPHQL_MAX_BYTES)"))
        if problem is not None:
            await error_response(problem)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _replay(receive: Receive, max_bytes: int) -> tuple[bytes | None, Receive] | None:
    """Read the whole body and a ``receive`` that hands it on, then the client's own messages.
    The body is None when it passes ``max_bytes`` (its Content-Length was checked, but the
    body is not trusted to keep to it: httptools refuses a chunked body under a
    Content-Length, another server might not): reading stops there. None when the client
    disconnected before the end."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return None, receive
        chunks.append(chunk)
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
