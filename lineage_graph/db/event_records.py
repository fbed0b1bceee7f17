"""Cypher over the append-only event record (:Event) and the derived graph it can rebuild."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

from lineage_graph.db.results import Row, every_row, first

EVENTS_AFTER: LiteralString = """
MATCH (e:Event)
WHERE e.seq > $after
RETURN e.seq AS seq, e.raw AS raw, coalesce(e.recordType, 'openlineage') AS recordType,
       e.receivedAt.epochMillis AS receivedAtMs
ORDER BY e.seq
LIMIT $limit
"""


def events_after(tx: neo4j.ManagedTransaction, after: int, limit: int) -> list[Row]:
    return every_row(tx, EVENTS_AFTER, after=after, limit=limit)


# What a rebuild would delete that no record can bring back: labeling data and scene versions
# written before they were recorded (recorded labeling nodes carry `recorded: true`; schema
# version placeholders come from events).
UNRECORDED_DATA: LiteralString = """
RETURN COUNT { MATCH (v:LabelingSchemaVersion) WHERE v.placeholder = false
                                                   AND v.recorded IS NULL }
         AS LabelingSchemaVersion,
       COUNT { MATCH (s:LabelingSession) WHERE s.recorded IS NULL } AS LabelingSession,
       COUNT { MATCH (l:Label) WHERE l.recorded IS NULL } AS Label,
       COUNT { MATCH (sv:SceneVersion)
               WHERE sv.documentSha256 IS NULL
                  OR NOT EXISTS { MATCH (:Event {sha256: sv.documentSha256}) } } AS SceneVersion
"""


def unrecorded_data(tx: neo4j.ManagedTransaction) -> dict[str, int]:
    """Label -> how many such nodes exist that the record cannot rebuild (zeros left out)."""
    record = tx.run(UNRECORDED_DATA).single()
    return {} if record is None else {k: v for k, v in record.data().items() if v}


COUNT_EVENTS: LiteralString = "MATCH (e:Event) RETURN count(e) AS n"


def count_events(tx: neo4j.ManagedTransaction) -> int:
    record = tx.run(COUNT_EVENTS).single()
    return int(record["n"]) if record else 0


# Everything but the event record, its sequence, its checkpoints and the API keys is derived
# from events.
DELETE_DERIVED_GRAPH: LiteralString = """
MATCH (n)
WHERE NOT n:Event AND NOT n:Sequence AND NOT n:ApiKey AND NOT n:LedgerCheckpoint
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
"""


def delete_derived_graph(session: neo4j.Session) -> None:
    """Run in the session's auto-commit transaction, not in a transaction function: CALL ...
    IN TRANSACTIONS needs an auto-commit transaction."""
    session.run(DELETE_DERIVED_GRAPH).consume()


LEDGER_PAGE: LiteralString = """
MATCH (e:Event)
WHERE e.seq > $after
RETURN e.seq AS seq, e.sha256 AS sha256, e.raw AS raw, e.prevHash AS prevHash,
       e.chainHash AS chainHash, e.chainVersion AS chainVersion, e.recordType AS recordType,
       e.receivedAt.epochMillis AS receivedAtMs, e.keyId AS keyId,
       e.prunedAt.epochMillis AS prunedAtMs
ORDER BY e.seq
LIMIT $limit
"""


def ledger_page(tx: neo4j.ManagedTransaction, after: int, limit: int) -> list[Row]:
    return every_row(tx, LEDGER_PAGE, after=after, limit=limit)


RETENTION_RECORDS_AFTER: LiteralString = """
MATCH (e:Event {recordType: 'retention'}) WHERE e.seq > $after
RETURN e.seq AS seq, e.raw AS raw
ORDER BY e.seq
"""


def retention_records_after(tx: neo4j.ManagedTransaction, after: int) -> list[Row]:
    """Retention records past a verification's head (committed while it ran)."""
    return every_row(tx, RETENTION_RECORDS_AFTER, after=after)


SEQUENCE_HEAD: LiteralString = """
OPTIONAL MATCH (s:Sequence {name: 'event'})
RETURN s.value AS value, s.head AS head
"""


def sequence_head(tx: neo4j.ManagedTransaction) -> Row | None:
    record = tx.run(SEQUENCE_HEAD).single()
    return None if record is None else record.data()


STORE_CHECKPOINT: LiteralString = """
MERGE (c:LedgerCheckpoint {seq: $checkpoint.seq, head: $checkpoint.head})
SET c.at = datetime($checkpoint.at), c.signature = $checkpoint.signature
"""


def store_checkpoint(tx: neo4j.ManagedTransaction, checkpoint: dict[str, Any]) -> None:
    tx.run(STORE_CHECKPOINT, checkpoint=checkpoint).consume()


CHAIN_HASH_AT: LiteralString = "MATCH (e:Event {seq: $seq}) RETURN e.chainHash AS chainHash"


def chain_hash_at(tx: neo4j.ManagedTransaction, seq: int) -> str | None:
    found: str | None = first(tx, CHAIN_HASH_AT, "chainHash", seq=seq)
    return found
