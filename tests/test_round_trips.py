"""A transaction's BEGIN travels with its first statement (db/connection.py): one round trip
less for every request the API serves. Counted at the driver's socket flushes, against the
real Neo4j."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from unittest import mock

import neo4j
import pytest
from neo4j._sync.io._bolt import Bolt
from neo4j.exceptions import CypherSyntaxError

from lineage_graph.db.connection import Database
from lineage_graph.errors import Neo4jUnavailableError
from lineage_graph.settings import Settings


@contextmanager
def flushes() -> Iterator[list[int]]:
    """Counts the driver's sends of buffered messages (one per round trip it waits for)."""
    count = [0]
    send_all = Bolt.send_all

    def counting(self: Bolt) -> Any:
        count[0] += 1
        return send_all(self)

    with mock.patch.object(Bolt, "send_all", counting):
        yield count


def one_statement(tx: neo4j.ManagedTransaction) -> int:
    record = tx.run("RETURN 1 AS one").single(strict=True)
    return int(record["one"])


def test_a_write_transaction_of_one_statement_is_two_round_trips(db: Database) -> None:
    db.write(one_statement)  # a connection in the pool: its opening is not counted
    with flushes() as count:
        assert db.write(one_statement) == 1
    assert count[0] == 2  # BEGIN with the statement, then COMMIT (three if BEGIN waited)


def test_a_read_transaction_of_one_statement_is_two_round_trips(db: Database) -> None:
    db.read(one_statement)
    with flushes() as count:
        assert db.read(one_statement) == 1
    assert count[0] == 2


def test_a_refused_statement_still_fails_as_itself(db: Database) -> None:
    with pytest.raises(CypherSyntaxError):
        db.write(lambda tx: tx.run("RETURN RETURN").consume())
    assert db.write(one_statement) == 1  # and the pool's connection is fine afterwards


def test_a_refused_begin_is_reported_at_the_first_statement(neo4j_server: Settings) -> None:
    """A database that does not exist refuses the BEGIN; the caller still sees Neo4j refusing
    the work, not the statement's fault."""
    with (Database(replace(neo4j_server, neo4j_database="nosuchdatabase")) as missing,
          pytest.raises(Neo4jUnavailableError, match="refused the work")):
        missing.write(one_statement)
