"""Domain errors -> HTTP responses, by the one table (``lineage_graph.error_codes``). Bodies are
JSON: ``{"error", "message", "field"?}``; no stack trace or Cypher ever reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lineage_graph.error_codes import code_of
from lineage_graph.errors import (
    InvalidRequestError,
    LineageGraphError,
)

log = logging.getLogger(__name__)


def error_response(exc: LineageGraphError) -> JSONResponse:
    """The HTTP answer to a domain error, by the one table (lineage_graph.error_codes)."""
    row = code_of(exc)
    if row is None:
        log.error("unmapped domain error", exc_info=exc)
        return JSONResponse({"error": "internal", "message": "internal error"}, status_code=500)
    if row.http_status >= 500:
        log.warning("%s: %s", row.http_code, exc)  # the detail stays in the log
    body: dict[str, str] = {"error": row.http_code, "message": exc.public_message}
    field = getattr(exc, "field", None)
    if field:
        body["field"] = field
    headers = {"WWW-Authenticate": "Bearer"} if row.http_status == 401 else None
    return JSONResponse(body, status_code=row.http_status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def handle_domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LineageGraphError)
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
