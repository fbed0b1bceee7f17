"""Domain errors -> GraphQL errors, by the one table (``lineage_graph.error_codes``).

Known errors keep their message and gain ``extensions.code``; anything else is logged with its
traceback and reaches the client as "internal error" (no stack traces or Cypher in responses).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from lineage_graph.error_codes import code_of
from lineage_graph.errors import (
    LineageGraphError,
)

log = logging.getLogger(__name__)

def graphql_code(exc: BaseException | None) -> str | None:
    """``extensions.code`` for a domain error, by the one table (lineage_graph.error_codes)."""
    row = code_of(exc)
    return None if row is None else row.graphql_code


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
