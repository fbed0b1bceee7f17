"""Domain errors -> GraphQL errors, in one place.

Known errors keep their message and gain ``extensions.code``; anything else is logged with its
traceback and reaches the client as "internal error" (no stack traces or Cypher in responses).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from lineage_graph.errors import (
    ConflictError,
    ForbiddenError,
    InvalidEventError,
    InvalidRequestError,
    LineageGraphError,
    Neo4jUnavailableError,
    NotFoundError,
    QueryTimeoutError,
    SpoolWriteError,
)

log = logging.getLogger(__name__)

ERROR_CODES: list[tuple[type[LineageGraphError], str]] = [
    (NotFoundError, "NOT_FOUND"),
    (ConflictError, "CONFLICT"),
    (InvalidRequestError, "BAD_REQUEST"),
    (InvalidEventError, "BAD_REQUEST"),
    (Neo4jUnavailableError, "UNAVAILABLE"),
    (ForbiddenError, "FORBIDDEN"),
    (QueryTimeoutError, "TIMEOUT"),
    (SpoolWriteError, "UNAVAILABLE"),
]


def graphql_code(exc: BaseException | None) -> str | None:
    for kind, code in ERROR_CODES:
        if isinstance(exc, kind):
            return code
    return None


class DomainErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._map(err) for err in result.errors]

    @staticmethod
    def _map(err: GraphQLError) -> GraphQLError:
        original = err.original_error
        if original is None:  # a validation/syntax error from graphql-core: already clear
            return err
        code = graphql_code(original)
        if code is None:
            log.error("internal error in GraphQL resolver", exc_info=original)
            return GraphQLError("internal error", nodes=err.nodes, path=err.path,
                                extensions={"code": "INTERNAL"})
        extensions = {"code": code}
        field = getattr(original, "field", None)
        if field:
            extensions["field"] = field
        if code == "UNAVAILABLE":
            log.warning("GraphQL: %s", original)  # the detail stays in the log
        message = original.public_message if isinstance(original, LineageGraphError) else str(
            original)
        return GraphQLError(message, nodes=err.nodes, path=err.path, extensions=extensions)
