"""The few ways a statement's records become Python values, shared by the typed DAO functions
of this package. Only ``db/`` modules use them: a service calls the function named for the
question it asks (``lineage_reads.node_by_id(tx, node_id)``), never a statement."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

# One record as a dict, column name -> value: the row shape of a statement with several
# columns. A statement returning one map per record maps to that map instead.
Row = dict[str, Any]


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


def one_row(tx: neo4j.ManagedTransaction, cypher: LiteralString, **params: Any) -> Row:
    """The one record an aggregating statement always returns."""
    record = tx.run(cypher, params).single(strict=True)
    return record.data()
