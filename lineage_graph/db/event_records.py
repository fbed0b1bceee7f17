"""Cypher over the append-only event record (:Event) and the derived graph it can rebuild."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

EVENTS_AFTER: LiteralString = """
MATCH (e:Event)
WHERE e.seq > $after
RETURN e.seq AS seq, e.raw AS raw
ORDER BY e.seq
LIMIT $limit
"""

COUNT_EVENTS: LiteralString = "MATCH (e:Event) RETURN count(e) AS n"

# Everything but the event record and its sequence is derived from events.
DELETE_DERIVED_GRAPH: LiteralString = """
MATCH (n)
WHERE NOT n:Event AND NOT n:Sequence
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
"""


def events_after(tx: neo4j.ManagedTransaction, after: int, limit: int) -> list[dict[str, Any]]:
    return [r.data() for r in tx.run(EVENTS_AFTER, after=after, limit=limit)]


def count_events(tx: neo4j.ManagedTransaction) -> int:
    record = tx.run(COUNT_EVENTS).single()
    return int(record["n"]) if record else 0
