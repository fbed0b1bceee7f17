"""Domain errors. One table (``lineage_graph.error_codes``) says what each one is over HTTP and in
GraphQL; ``lineage_graph.web.errors`` and ``lineage_graph.graphql.errors`` apply it."""

from __future__ import annotations


class LineageGraphError(Exception):
    """Base of every error this package raises on purpose."""

    @property
    def public_message(self) -> str:
        """What an HTTP or GraphQL client is told; ``str(self)`` (for logs and the CLI) may
        hold more than a remote caller should see."""
        return str(self)


class InvalidDocumentError(LineageGraphError):
    """A submitted document (scene document, ...) breaks its schema; ``field`` is the dotted
    path of the first problem."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class InvalidEventError(InvalidDocumentError):
    """An OpenLineage event violates the core schema."""


class InvalidRequestError(LineageGraphError):
    """A request that cannot be served as asked (bad argument, limit exceeded)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class TransactionTooLargeError(InvalidRequestError):
    """The write needs more memory than Neo4j allows one transaction: it will never fit as is
    (not a passing unavailability); nothing was written."""


class PayloadTooLargeError(InvalidRequestError):
    """The request body or batch is larger than the configured limit."""


class UnsupportedMediaTypeError(InvalidRequestError):
    """A POST body whose Content-Type is not JSON (or NDJSON where a batch is accepted)."""


class LengthRequiredError(InvalidRequestError):
    """A body whose size must be known before it is read came without a Content-Length."""


class MisdirectedRequestError(InvalidRequestError):
    """The Host header names a host this API does not serve (DNS rebinding, with auth off)."""


class UnauthorizedError(LineageGraphError):
    """No valid API key came with a request that needs one (missing, malformed, unknown or
    revoked: one answer for all, so it never tells whether a key exists)."""


class NotFoundError(LineageGraphError):
    """A node the caller named does not exist."""


class ConflictError(LineageGraphError):
    """The write contradicts what is recorded (a different scene document under a scene
    version's content hash); nothing was written."""


class UnrecordedDataError(LineageGraphError):
    """An operation would delete data the event record cannot bring back."""


class ForbiddenError(LineageGraphError):
    """The caller's API key lacks the scope this operation needs."""


class QueryTimeoutError(LineageGraphError):
    """A query ran longer than LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS and was stopped."""


class Neo4jUnavailableError(LineageGraphError):
    """Neo4j cannot be reached; nothing was written. The message names the server (for the
    operator); remote callers get a fixed one, never the URI or the server's words."""

    @property
    def public_message(self) -> str:
        return "the database is unavailable; try again later"


class SpoolWriteError(LineageGraphError):
    """The durable spool could not store an event (e.g. a full disk): it was not accepted."""

    @property
    def public_message(self) -> str:
        return "the event could not be stored durably and was not accepted; try again later"


class RemoteApiError(LineageGraphError):
    """Another lineage-graph API (``--api``) could not be reached or refused the request."""


class ManagedNeo4jError(LineageGraphError):
    """The managed local Neo4j could not be provisioned, started or stopped."""


class ManagedKafkaError(LineageGraphError):
    """The managed local Kafka broker could not be provisioned, started or stopped."""


class KafkaConsumeError(LineageGraphError):
    """Consuming from Kafka cannot go on safely (the broker refused the consumer's settings, or
    a message could not be put on the dead-letter topic): the consumer stops without committing
    what it has not finished, so those messages are read again at the next start."""
