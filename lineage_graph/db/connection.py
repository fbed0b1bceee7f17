"""Open a Neo4j driver for the configured server (managed or ``NEO4J_URI``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

import neo4j
from neo4j.exceptions import (
    AuthError,
    ClientError,
    DatabaseError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from lineage_graph.errors import (
    Neo4jUnavailableError,
    QueryTimeoutError,
    TransactionTooLargeError,
)
from lineage_graph.settings import Settings

T = TypeVar("T")


def resolve_password(settings: Settings) -> str:
    if settings.neo4j_password is not None:
        return settings.neo4j_password
    if settings.managed:
        from lineage_graph.neo4j_server import ManagedNeo4j

        return ManagedNeo4j(settings).password()
    raise Neo4jUnavailableError("NEO4J_URI is set but NEO4J_PASSWORD is not")


class Database:
    """A driver plus the database name; the one handle data-access modules receive."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.neo4j_database
        self.driver = neo4j.GraphDatabase.driver(
            settings.bolt_uri,
            auth=(settings.neo4j_user, resolve_password(settings)),
            max_connection_pool_size=50,
            connection_acquisition_timeout=30,
            connection_timeout=5,
            # Transient errors (deadlocks, leader switches) are retried this long, then the
            # caller gets Neo4jUnavailableError (HTTP 503) and nothing is written.
            max_transaction_retry_time=settings.neo4j_retry_seconds,
            # Queries name relationship types a young graph may not have yet (LABELS before the
            # first labeling session): Neo4j warns about each, which would flood the logs.
            notifications_disabled_classifications=["UNRECOGNIZED"],
        )

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work`` in one read transaction, stopped by Neo4j after
        LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS (QueryTimeoutError): one heavy query cannot hang
        the server."""
        timed = neo4j.unit_of_work(timeout=self.settings.query_timeout_seconds)(work)
        return self.in_session(lambda s: s.execute_read(timed))

    def read_once(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Like :meth:`read`, in one attempt: no retries. For lookups on the request path
        (API keys) that must fail fast while Neo4j is down rather than hold a thread for
        LINEAGE_GRAPH_NEO4J_RETRY_SECONDS. A read session: a cluster routes it to a reader."""
        def attempt(session: neo4j.Session) -> T:
            with session.begin_transaction(timeout=self.settings.query_timeout_seconds) as tx:
                return work(tx)  # type: ignore[arg-type]  # same run() as a managed one

        return self.in_session(attempt, access=neo4j.READ_ACCESS)

    def write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work`` in one write transaction, retried by the driver on transient errors."""
        return self.in_session(lambda s: s.execute_write(work))

    def in_session(self, fn: Callable[[neo4j.Session], T],
                   access: str = neo4j.WRITE_ACCESS) -> T:
        """Run ``fn`` with a session; an unreachable Neo4j becomes Neo4jUnavailableError.
        ``access`` is what the session's explicit transactions do: with a ``neo4j://`` URI a
        cluster sends writes to its leader and reads to a follower or read replica (managed
        transactions, :meth:`read` and :meth:`write`, say so themselves)."""
        try:
            with (self.driver.session(database=self.name, default_access_mode=access) as session,
                  _begin_with_first_statement(session)):
                return fn(session)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise Neo4jUnavailableError(
                f"Neo4j at {self.settings.bolt_uri} is unreachable"
            ) from exc
        except TransientError as exc:
            if "MemoryPoolOutOfMemoryError" in (exc.code or ""):
                # Transient by Neo4j's classification, but the same write fails every time.
                raise TransactionTooLargeError(
                    "the write needs more memory than Neo4j allows one transaction (setting "
                    "dbms.memory.transaction.total.max): split it, or raise that limit") from exc
            # Still failing after the driver's retries (LINEAGE_GRAPH_NEO4J_RETRY_SECONDS):
            # a database shutting down or starting, a lock that never came free.
            raise Neo4jUnavailableError(
                f"Neo4j at {self.settings.bolt_uri} is not taking work: {exc.message}"
            ) from exc
        except AuthError as exc:  # a ClientError: before the ClientError branch
            raise Neo4jUnavailableError(
                f"Neo4j at {self.settings.bolt_uri} refused the credentials"
            ) from exc
        except ClientError as exc:
            code = exc.code or ""
            if "TransactionTimedOut" in code:
                raise QueryTimeoutError(
                    f"the query ran longer than {self.settings.query_timeout_seconds:g} s and "
                    "was stopped (setting LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS)") from exc
            if code.startswith(("Neo.ClientError.Security.", "Neo.ClientError.Database.")):
                # Not the statement's fault (a role without write access, a database that is
                # not there): the server cannot take this work now. Callers that read a
                # ClientError as "this event is refused" must never see these.
                raise Neo4jUnavailableError(
                    f"Neo4j at {self.settings.bolt_uri} refused the work: {exc.message}"
                ) from exc
            raise
        except DatabaseError as exc:
            # Neo4j failed itself (a full disk, a corrupt store): nothing the request did.
            raise Neo4jUnavailableError(
                f"Neo4j at {self.settings.bolt_uri} failed: {exc.message}"
            ) from exc

    def ping(self) -> bool:
        try:
            self.driver.verify_connectivity()
        except Exception:
            return False
        return True


def _begin_with_first_statement(session: neo4j.Session) -> AbstractContextManager[Any]:
    """Within it, a transaction's BEGIN travels with its first statement instead of waiting
    for its own answer: one round trip less per transaction (about 0.2 ms here), as the
    driver's own ``execute_query`` does. A refused BEGIN is reported at that statement, by the
    same error. The switch is the driver's (not public API): ``tests/test_round_trips.py``
    fails if a driver upgrade drops it."""
    switch = getattr(session, "_pipelined_begin", None)
    return switch if switch is not None else nullcontext()

