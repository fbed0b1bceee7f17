"""The few ways a statement's records become Python values, shared by the typed DAO functions
of this package. Only ``db/`` modules use them: a service calls the function named for the
question it asks (``lineage_reads.node_by_id(tx, node_id)``), never a statement."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

# One record as a dict, column name -> value: the row shape of a statement with several
# columns. A statement returning one map per record maps to that map instead.
Row = dict[str, Any]

# Statements whose answer is a list of up to a page or a walk's hop return it collected in one
# record, ``RETURN collect(...) AS rows`` (read with :func:`collected`), not one record per
# item. The Python driver reads every record with socket reads of its own (chunk header, then
# chunk), about 20 us a record on top of Neo4j's work: a 150-node lineage answer's edges took
# 3.9 ms as 150 records and 1.4 ms as one, for the same 1 ms inside Neo4j
# (docs/benchmarks.md#records-one-per-statement). Only bounded lists are collected: every
# collected statement has a LIMIT (a page, a walk's cap) or a bounded input (the ids of one
# answer); a list with no such bound (events, a column-lineage hop) keeps a record per row, as
# the driver then streams it in batches instead of Neo4j holding it whole.
ROWS: LiteralString = "rows"


def first(tx: neo4j.ManagedTransaction, cypher: LiteralString, column: str,
          **params: Any) -> Any:
    """One column of the first record, or None when there is none."""
    record = tx.run(cypher, params).single()
    return None if record is None else record[column]


def column(tx: neo4j.ManagedTransaction, cypher: LiteralString, name: str,
           **params: Any) -> list[Any]:
    """One column of every record."""
    return [record[name] for record in tx.run(cypher, params)]


def every_row(tx: neo4j.ManagedTransaction, cypher: LiteralString, **params: Any) -> list[Row]:
    """Every record, as a dict of its columns."""
    return [record.data() for record in tx.run(cypher, params)]


def collected(tx: neo4j.ManagedTransaction, cypher: LiteralString, **params: Any) -> list[Any]:
    """The list a statement collects into its one record, column ``rows`` (an aggregation
    without grouping keys: one record, empty list when nothing matched)."""
    rows: list[Any] = tx.run(cypher, params).single(strict=True)[ROWS]
    return rows


def one_row(tx: neo4j.ManagedTransaction, cypher: LiteralString, **params: Any) -> Row:
    """The one record an aggregating statement always returns."""
    record = tx.run(cypher, params).single(strict=True)
    return record.data()
