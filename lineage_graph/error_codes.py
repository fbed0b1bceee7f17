"""The one table of what each domain error is over HTTP (status and ``error`` code) and in GraphQL
(``extensions.code``). The first row whose error type the error is an instance of applies, so
subclasses come before their bases."""

from __future__ import annotations

from dataclasses import dataclass

from lineage_graph.errors import (
    ConflictError,
    ForbiddenError,
    InvalidDocumentError,
    InvalidEventError,
    InvalidRequestError,
    KafkaConsumeError,
    LengthRequiredError,
    LineageGraphError,
    ManagedKafkaError,
    ManagedNeo4jError,
    MisdirectedRequestError,
    Neo4jUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    QueryTimeoutError,
    RemoteApiError,
    SpoolWriteError,
    TransactionTooLargeError,
    UnauthorizedError,
    UnrecordedDataError,
    UnsupportedMediaTypeError,
)


@dataclass(frozen=True)
class ErrorCode:
    kind: type[LineageGraphError]
    http_status: int
    http_code: str
    graphql_code: str


ERROR_CODES: tuple[ErrorCode, ...] = (
    ErrorCode(PayloadTooLargeError, 413, "payload_too_large", "BAD_REQUEST"),
    ErrorCode(TransactionTooLargeError, 413, "too_large_for_one_transaction", "BAD_REQUEST"),
    ErrorCode(UnsupportedMediaTypeError, 415, "unsupported_media_type", "BAD_REQUEST"),
    ErrorCode(LengthRequiredError, 411, "length_required", "BAD_REQUEST"),
    ErrorCode(MisdirectedRequestError, 421, "misdirected_request", "BAD_REQUEST"),
    ErrorCode(InvalidEventError, 422, "invalid_event", "BAD_REQUEST"),
    ErrorCode(InvalidDocumentError, 422, "invalid_document", "BAD_REQUEST"),
    ErrorCode(InvalidRequestError, 400, "bad_request", "BAD_REQUEST"),
    ErrorCode(UnauthorizedError, 401, "unauthorized", "UNAUTHORIZED"),
    ErrorCode(ForbiddenError, 403, "forbidden", "FORBIDDEN"),
    ErrorCode(NotFoundError, 404, "not_found", "NOT_FOUND"),
    ErrorCode(ConflictError, 409, "conflict", "CONFLICT"),
    ErrorCode(UnrecordedDataError, 409, "unrecorded_data", "CONFLICT"),
    ErrorCode(Neo4jUnavailableError, 503, "neo4j_unavailable", "UNAVAILABLE"),
    ErrorCode(QueryTimeoutError, 503, "query_timeout", "TIMEOUT"),
    ErrorCode(SpoolWriteError, 503, "spool_unavailable", "UNAVAILABLE"),
    ErrorCode(ManagedNeo4jError, 503, "neo4j_unavailable", "UNAVAILABLE"),
    # Command-line only (`kafka up`, `consume`); rows so that the table covers every error.
    ErrorCode(ManagedKafkaError, 503, "kafka_unavailable", "UNAVAILABLE"),
    ErrorCode(KafkaConsumeError, 503, "kafka_unavailable", "UNAVAILABLE"),
    ErrorCode(RemoteApiError, 502, "remote_api_error", "UNAVAILABLE"),
)

# A document error that names no field is a body that is not JSON, or not an object: a
# malformed request, not an invalid document.
MALFORMED_BODY = ErrorCode(InvalidDocumentError, 400, "bad_request", "BAD_REQUEST")


def code_of(exc: BaseException | None) -> ErrorCode | None:
    """The row for ``exc``; None for anything that is not a known domain error (an internal
    error: logged, and answered without detail)."""
    if isinstance(exc, InvalidDocumentError) and not exc.field:
        return MALFORMED_BODY
    return next((row for row in ERROR_CODES if isinstance(exc, row.kind)), None)
