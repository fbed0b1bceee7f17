"""Domain errors. The HTTP and GraphQL layers map these to responses in one place each
(``lineage_graph.web.errors`` and ``lineage_graph.graphql.errors``)."""

from __future__ import annotations


class LineageGraphError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidEventError(LineageGraphError):
    """An OpenLineage event violates the core schema; ``field`` is its dotted path."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class InvalidRequestError(LineageGraphError):
    """A request that cannot be served as asked (bad argument, limit exceeded)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class NotFoundError(LineageGraphError):
    """A node the caller named does not exist."""


class Neo4jUnavailableError(LineageGraphError):
    """Neo4j cannot be reached; nothing was written."""


class ManagedNeo4jError(LineageGraphError):
    """The managed local Neo4j could not be provisioned, started or stopped."""
