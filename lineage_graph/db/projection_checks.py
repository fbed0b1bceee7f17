"""All Cypher of the projection check (``ledger verify``): for rows of what records project to,
which are missing from the graph. One statement per kind of node or edge, each over ``UNWIND``
rows ``{seq, what, a, b}`` (the record's sequence number, a description, and the keys)."""

from __future__ import annotations

from typing import LiteralString

import neo4j

from lineage_graph.db.results import Row, every_row

_MISSING = "WITH row WHERE found IS NULL RETURN row.seq AS seq, row.what AS what"

CHECKS: dict[str, LiteralString] = {
    "job": "UNWIND $rows AS row OPTIONAL MATCH (found:Job {nodeId: row.a}) " + _MISSING,
    "dataset": "UNWIND $rows AS row OPTIONAL MATCH (found:Dataset {nodeId: row.a}) "
               + _MISSING,
    "job_run": "UNWIND $rows AS row OPTIONAL MATCH (:Job {nodeId: row.a})-[found:HAS_RUN]->"
               "(:Run {runId: row.b}) " + _MISSING,
    "run_read": "UNWIND $rows AS row OPTIONAL MATCH (:Run {runId: row.a})-[found:READ]->"
                "(:Dataset {nodeId: row.b}) " + _MISSING,
    "run_wrote": "UNWIND $rows AS row OPTIONAL MATCH (:Run {runId: row.a})-[found:WROTE]->"
                 "(:Dataset {nodeId: row.b}) " + _MISSING,
    "dataset_field": "UNWIND $rows AS row OPTIONAL MATCH (:Dataset {nodeId: row.a})"
                     "-[found:HAS_FIELD]->(:Field {fieldId: row.b}) " + _MISSING,
    "scene_layer": "UNWIND $rows AS row OPTIONAL MATCH (:SceneVersion {nodeId: row.a})"
                   "-[found:USES_LAYER]->(:Layer {sha256: row.b}) " + _MISSING,
    "scene_arc": "UNWIND $rows AS row OPTIONAL MATCH (:SceneVersion {nodeId: row.a})"
                 "-[found:HAS_ARC]->(:CompositionArc {arcId: row.b}) " + _MISSING,
    "scene_prim": "UNWIND $rows AS row OPTIONAL MATCH (:SceneVersion {nodeId: row.a})"
                  "-[found:HAS_PRIM]->(:Prim {primId: row.b}) " + _MISSING,
    "scene_variant": "UNWIND $rows AS row OPTIONAL MATCH (:SceneVersion {nodeId: row.a})"
                     "-[found:HAS_VARIANT]->(:SceneVariant {nodeId: row.b}) " + _MISSING,
    "labeling_session": "UNWIND $rows AS row OPTIONAL MATCH "
                        "(found:LabelingSession {nodeId: row.a}) " + _MISSING,
    "label": "UNWIND $rows AS row OPTIONAL MATCH (:LabelingSession {nodeId: row.a})"
             "-[found:HAS_LABEL]->(:Label {labelId: row.b}) " + _MISSING,
    "checkpoint": "UNWIND $rows AS row OPTIONAL MATCH "
                  "(found:LedgerCheckpoint {seq: toInteger(row.a), head: row.b}) " + _MISSING,
    "api_key": "UNWIND $rows AS row OPTIONAL MATCH (found:ApiKey {keyId: row.a}) "
               "WHERE found.secretHash = row.b AND found.scopes = row.c "
               "AND found.name = row.d " + _MISSING,
    "api_key_revoked": "UNWIND $rows AS row OPTIONAL MATCH (found:ApiKey {keyId: row.a}) "
                       "WHERE found.revokedAt IS NOT NULL " + _MISSING,
}


def missing(tx: neo4j.ManagedTransaction, check: str, rows: list[Row]) -> list[Row]:
    """The ``seq`` and ``what`` of each row whose node or edge ``CHECKS[check]`` does not
    find."""
    return every_row(tx, CHECKS[check], rows=rows)


# Keys are few and each one is a door: every key record is checked, sample or not, and so is
# every key node (one that no record created was added behind the record's back).
API_KEY_RECORDS: LiteralString = """
MATCH (e:Event {recordType: 'apiKey'})
RETURN e.seq AS seq, e.raw AS raw, e.recordType AS recordType
ORDER BY e.seq
"""


def api_key_records(tx: neo4j.ManagedTransaction) -> list[Row]:
    return every_row(tx, API_KEY_RECORDS)


ALL_API_KEYS: LiteralString = """
MATCH (k:ApiKey)
RETURN k.keyId AS keyId, k.name AS name
ORDER BY keyId
"""


def all_api_keys(tx: neo4j.ManagedTransaction) -> list[Row]:
    return every_row(tx, ALL_API_KEYS)


SAMPLE_SEQUENCES: LiteralString = """
MATCH (s:Sequence {name: 'event'})
WITH coalesce(s.value, 0) AS last
UNWIND range(1, last) AS seq
WITH seq ORDER BY rand()
LIMIT $size
RETURN collect(seq) AS seqs
"""


def sample_sequences(tx: neo4j.ManagedTransaction, size: int) -> list[int]:
    record = tx.run(SAMPLE_SEQUENCES, size=size).single()
    return [] if record is None else list(record["seqs"])


RECORDS_BY_SEQ: LiteralString = """
UNWIND $seqs AS wanted
MATCH (e:Event {seq: wanted})
RETURN e.seq AS seq, e.raw AS raw, coalesce(e.recordType, 'openlineage') AS recordType
ORDER BY e.seq
"""


def records_by_seq(tx: neo4j.ManagedTransaction, seqs: list[int]) -> list[Row]:
    return every_row(tx, RECORDS_BY_SEQ, seqs=seqs)
