"""Domain errors -> HTTP responses, in one place. Bodies are JSON: ``{"error", "message",
"field"?}``; no stack trace or Cypher ever reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lineage_graph.errors import (
    ConflictError,
    ForbiddenError,
    InvalidDocumentError,
    InvalidEventError,
    InvalidRequestError,
    LineageGraphError,
    Neo4jUnavailableError,
    NotFoundError,
    QueryTimeoutError,
    SpoolWriteError,
    TransactionTooLargeError,
)

log = logging.getLogger(__name__)


class PayloadTooLargeError(InvalidRequestError):
    """The request body or batch is larger than the configured limit."""


class UnsupportedMediaTypeError(InvalidRequestError):
    """A POST body whose Content-Type is not JSON (or NDJSON where a batch is accepted)."""


class LengthRequiredError(InvalidRequestError):
    """A body whose size must be known before it is read came without a Content-Length."""


class MisdirectedRequestError(InvalidRequestError):
    """The Host header names a host this API does not serve (DNS rebinding, with auth off)."""


HTTP_STATUS: list[tuple[type[LineageGraphError], int, str]] = [
    (PayloadTooLargeError, 413, "payload_too_large"),
    (TransactionTooLargeError, 413, "too_large_for_one_transaction"),
    (UnsupportedMediaTypeError, 415, "unsupported_media_type"),
    (LengthRequiredError, 411, "length_required"),
    (MisdirectedRequestError, 421, "misdirected_request"),
    (InvalidEventError, 422, "invalid_event"),
    (InvalidDocumentError, 422, "invalid_document"),
    (InvalidRequestError, 400, "bad_request"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (Neo4jUnavailableError, 503, "neo4j_unavailable"),
    (ForbiddenError, 403, "forbidden"),
    (QueryTimeoutError, 503, "query_timeout"),
    (SpoolWriteError, 503, "spool_unavailable"),
]


def error_response(exc: LineageGraphError) -> JSONResponse:
    for kind, status, code in HTTP_STATUS:
        if isinstance(exc, kind):
            if status >= 500:
                log.warning("%s: %s", code, exc)  # the detail stays in the log
            body: dict[str, str] = {"error": code, "message": exc.public_message}
            field = getattr(exc, "field", None)
            if field:
                body["field"] = field
            return JSONResponse(body, status_code=status)
    log.error("unmapped domain error", exc_info=exc)
    return JSONResponse({"error": "internal", "message": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    async def handle_domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LineageGraphError)
        if isinstance(exc, InvalidDocumentError) and not exc.field:
            # Not JSON / not an object: a malformed request rather than an invalid event.
            return JSONResponse({"error": "bad_request", "message": str(exc)}, status_code=400)
        return error_response(exc)

    async def handle_parameters(_: Request, exc: Exception) -> JSONResponse:
        # A query or path parameter FastAPI could not read (limit=abc, a date that is none):
        # a 400 naming it, in this API's error body rather than FastAPI's {"detail": [...]}.
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("query", "path")]
        field = ".".join(location) or None
        problem = str(first.get("msg", "invalid parameter"))
        return error_response(InvalidRequestError(
            f"{field}: {problem}" if field else problem, field=field))

    async def handle_http(_: Request, exc: Exception) -> JSONResponse:
        # Routing's own answers (no such path, method not allowed) in the same body.
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "message": str(exc.detail)},
                            status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(LineageGraphError, handle_domain)
    app.add_exception_handler(RequestValidationError, handle_parameters)
    app.add_exception_handler(StarletteHTTPException, handle_http)
