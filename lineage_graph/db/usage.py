"""All Cypher of what the graph costs: counts by label and relationship type, the size of the
record, records received per day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

import neo4j

from lineage_graph.db.results import Row, every_row, first, one_row

# Neo4j's count store: every label's and relationship type's count in one call, whatever the
# size of the graph (no node is read).
GRAPH_COUNTS: LiteralString = """
CALL db.stats.retrieve('GRAPH COUNTS') YIELD data
RETURN [n IN data.nodes WHERE n.label IS NOT NULL | {name: n.label, count: n.count}] AS labels,
       [n IN data.nodes WHERE n.label IS NULL | n.count][0] AS nodes,
       [r IN data.relationships
        WHERE r.relationshipType IS NOT NULL AND r.startLabel IS NULL AND r.endLabel IS NULL
        | {name: r.relationshipType, count: r.count}] AS types,
       [r IN data.relationships
        WHERE r.relationshipType IS NULL AND r.startLabel IS NULL AND r.endLabel IS NULL
        | r.count][0] AS relationships
"""


@dataclass(frozen=True)
class GraphCounts:
    nodes: int
    relationships: int
    by_label: dict[str, int]
    by_type: dict[str, int]


def graph_counts(tx: neo4j.ManagedTransaction) -> GraphCounts:
    row = one_row(tx, GRAPH_COUNTS)
    return GraphCounts(nodes=int(row["nodes"] or 0), relationships=int(row["relationships"] or 0),
                       by_label={x["name"]: int(x["count"]) for x in row["labels"]},
                       by_type={x["name"]: int(x["count"]) for x in row["types"]})


# Reads every record: for `lineage-graph stats`, not for every scrape of /metrics.
RECORD_SIZE: LiteralString = """
MATCH (e:Event)
RETURN e.recordType AS recordType, count(e) AS records, sum(size(e.raw)) AS bytes
ORDER BY recordType
"""


def record_size(tx: neo4j.ManagedTransaction) -> list[Row]:
    """Per record type: ``records`` and ``bytes`` (UTF-8 characters of the records as received,
    what the ledger keeps)."""
    return every_row(tx, RECORD_SIZE)


# Through the receivedAt index: the cost is the records of the period, not of the whole record.
RECORDS_RECEIVED_SINCE: LiteralString = """
MATCH (e:Event) WHERE e.receivedAt >= datetime($since)
RETURN count(e) AS records
"""


def records_received_since(tx: neo4j.ManagedTransaction, since: str) -> int:
    return int(first(tx, RECORDS_RECEIVED_SINCE, "records", since=since))


RECORDS_PER_DAY: LiteralString = """
MATCH (e:Event) WHERE e.receivedAt >= datetime($since)
WITH date(e.receivedAt) AS day, count(e) AS records
RETURN toString(day) AS day, records
ORDER BY day
"""


def records_per_day(tx: neo4j.ManagedTransaction, since: str) -> list[Row]:
    """Rows of ``day`` (UTC, ISO date) and ``records`` received that day, from ``since``."""
    return every_row(tx, RECORDS_PER_DAY, since=since)
