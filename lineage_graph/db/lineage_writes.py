"""All Cypher that writes OpenLineage events into the graph.

Each statement takes one list of rows and applies it with ``UNWIND``: a batch of events costs a
fixed number of round trips, whatever its size. The merge rules (max by sort key, set union)
are the ones of :mod:`lineage_graph.ingest.plan`, so applying rows is order-independent.
"""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

LOCK_EVENT_SEQUENCE: LiteralString = """
MERGE (s:Sequence {name: 'event'})
ON CREATE SET s.value = 0
SET s.lockedAt = timestamp()
RETURN s.value AS value
"""

EXISTING_EVENT_HASHES: LiteralString = """
UNWIND $hashes AS h
MATCH (e:Event {sha256: h})
RETURN e.sha256 AS sha256, e.seq AS seq
"""

RECORD_EVENTS: LiteralString = """
MATCH (s:Sequence {name: 'event'})
WITH s, s.value AS base
SET s.value = base + size($events)
WITH base
UNWIND range(0, size($events) - 1) AS i
WITH base + i + 1 AS seq, $events[i] AS e
CREATE (ev:Event {
  seq: seq, sha256: e.sha256, raw: e.raw, kind: e.kind, eventType: e.eventType,
  eventTime: e.eventTime, runId: e.runId, warnings: e.warnings, receivedAt: datetime()
})
RETURN ev.sha256 AS sha256, ev.seq AS seq
"""

MERGE_NAMESPACES: LiteralString = """
UNWIND $namespaces AS name
MERGE (:Namespace {name: name})
"""

MERGE_JOBS: LiteralString = """
UNWIND $jobs AS row
MERGE (j:Job:LineageNode {nodeId: row.nodeId})
ON CREATE SET j.namespace = row.namespace, j.name = row.name
WITH j, row
MATCH (ns:Namespace {name: row.namespace})
MERGE (ns)-[:HAS_JOB]->(j)
"""

MERGE_DATASETS: LiteralString = """
UNWIND $datasets AS row
MERGE (d:Dataset:LineageNode {nodeId: row.nodeId})
ON CREATE SET d.namespace = row.namespace, d.name = row.name
WITH d, row
MATCH (ns:Namespace {name: row.namespace})
MERGE (ns)-[:HAS_DATASET]->(d)
"""

MERGE_RUNS: LiteralString = """
UNWIND $runs AS row
MERGE (r:Run:LineageNode {runId: row.runId})
ON CREATE SET r.nodeId = row.nodeId
SET r.firstEventTime = CASE
      WHEN r.firstEventTime IS NULL OR row.firstEventTime < r.firstEventTime
      THEN row.firstEventTime ELSE r.firstEventTime END,
    r.lastEventTime = CASE
      WHEN r.lastEventTime IS NULL OR row.lastEventTime > r.lastEventTime
      THEN row.lastEventTime ELSE r.lastEventTime END,
    r.startEventTime = CASE
      WHEN r.startEventTime IS NULL OR row.startEventTime < r.startEventTime
      THEN row.startEventTime ELSE r.startEventTime END
FOREACH (_ IN CASE WHEN row.stateKey IS NOT NULL
                    AND (r.stateKey IS NULL OR row.stateKey > r.stateKey) THEN [1] ELSE [] END |
  SET r.state = row.state, r.stateKey = row.stateKey, r.stateTime = row.stateTime,
      r.endedAt = CASE WHEN row.terminal THEN row.stateTime ELSE null END)
SET r.startedAt = coalesce(r.startEventTime, r.firstEventTime)
WITH r, row
MATCH (j:Job {nodeId: row.jobId})
MERGE (j)-[:HAS_RUN]->(r)
"""

MERGE_PARENTS: LiteralString = """
UNWIND $parents AS row
MATCH (child:Run {runId: row.child}), (parent:Run {runId: row.parent})
MERGE (child)-[:CHILD_OF]->(parent)
"""

MERGE_JOB_READS: LiteralString = """
UNWIND $jobReads AS row
MATCH (j:Job {nodeId: row.jobId}), (d:Dataset {nodeId: row.datasetId})
MERGE (j)-[:READS]->(d)
"""

MERGE_JOB_WRITES: LiteralString = """
UNWIND $jobWrites AS row
MATCH (j:Job {nodeId: row.jobId}), (d:Dataset {nodeId: row.datasetId})
MERGE (j)-[:WRITES]->(d)
"""

MERGE_VERSIONS: LiteralString = """
UNWIND $versions AS row
MERGE (v:DatasetVersion {nodeId: row.nodeId})
ON CREATE SET v.version = row.version, v.datasetId = row.datasetId
SET v.createdAt = CASE
      WHEN v.createdAt IS NULL OR row.createdAt > v.createdAt
      THEN coalesce(row.createdAt, v.createdAt) ELSE v.createdAt END
WITH v, row
MATCH (d:Dataset {nodeId: row.datasetId})
MERGE (v)-[:VERSION_OF]->(d)
"""

MERGE_RUN_READS: LiteralString = """
UNWIND $runReads AS row
MATCH (r:Run {runId: row.runId}), (d:Dataset {nodeId: row.datasetId})
MERGE (r)-[rd:READ]->(d)
SET rd.pinnedVersion = CASE
      WHEN row.pinnedVersion IS NULL THEN rd.pinnedVersion
      WHEN rd.pinnedVersion IS NULL OR row.pinnedVersion > rd.pinnedVersion
      THEN row.pinnedVersion ELSE rd.pinnedVersion END,
    rd.pinnedVersionId = CASE
      WHEN row.pinnedVersion IS NULL THEN rd.pinnedVersionId
      WHEN rd.pinnedVersionId IS NULL OR row.pinnedVersion >= rd.pinnedVersion
      THEN row.versionId ELSE rd.pinnedVersionId END
"""

MERGE_RUN_WRITES: LiteralString = """
UNWIND $runWrites AS row
MATCH (r:Run {runId: row.runId}), (d:Dataset {nodeId: row.datasetId}),
      (v:DatasetVersion {nodeId: row.versionId})
MERGE (r)-[:WROTE]->(d)
MERGE (r)-[:WROTE_VERSION]->(v)
"""

MERGE_FACETS: LiteralString = """
UNWIND $facets AS row
MATCH (o:LineageNode {nodeId: row.ownerId})
MERGE (f:Facet {facetId: row.facetId})
ON CREATE SET f.name = row.name, f.place = row.place, f.sortKey = ''
MERGE (o)-[:HAS_FACET]->(f)
WITH o, f, row, CASE WHEN row.place = '' THEN row.name ELSE row.place + '/' + row.name END AS key
WHERE row.sortKey > f.sortKey
SET f.payload = row.payload, f.eventTime = row.eventTime, f.sortKey = row.sortKey,
    f.malformed = row.malformed, f.error = row.error
SET o += row.properties
SET o.malformedFacets = [x IN coalesce(o.malformedFacets, []) WHERE x <> key]
                        + CASE WHEN row.malformed THEN [key] ELSE [] END
"""

MERGE_FIELDS: LiteralString = """
UNWIND $fields AS row
MATCH (d:Dataset {nodeId: row.datasetId})
MERGE (f:Field {fieldId: row.fieldId})
ON CREATE SET f.name = row.name, f.datasetId = row.datasetId, f.sortKey = ''
MERGE (d)-[:HAS_FIELD]->(f)
WITH f, row
WHERE row.sortKey > f.sortKey
SET f.type = row.type, f.description = row.description, f.ordinal = row.ordinal,
    f.sortKey = row.sortKey
"""

MERGE_COLUMN_LINEAGE: LiteralString = """
UNWIND $columnLineage AS row
MATCH (outputDs:Dataset {nodeId: row.outDatasetId}), (inputDs:Dataset {nodeId: row.inDatasetId})
MERGE (outputField:Field {fieldId: row.outFieldId})
ON CREATE SET outputField.name = row.outField, outputField.datasetId = row.outDatasetId, outputField.sortKey = ''
MERGE (outputDs)-[:HAS_FIELD]->(outputField)
MERGE (inputField:Field {fieldId: row.inFieldId})
ON CREATE SET inputField.name = row.inField, inputField.datasetId = row.inDatasetId, inputField.sortKey = ''
MERGE (inputDs)-[:HAS_FIELD]->(inputField)
MERGE (outputField)-[c:DERIVED_FROM]->(inputField)
SET c.transformations = CASE
      WHEN c.transformations IS NULL OR row.transformations > c.transformations
      THEN row.transformations ELSE c.transformations END
"""

# Which version a run read: the pinned one (datasetVersion facet) or else the latest version
# created at or before the run started, not counting versions the run wrote itself. Re-run for
# every run this batch touched and every run that reads a dataset that got a new version, so
# late-arriving events re-link earlier runs.
RESOLVE_READ_VERSIONS: LiteralString = """
UNWIND $versionedDatasetIds AS did
OPTIONAL MATCH (:Dataset {nodeId: did})<-[:READ]-(reader:Run)
WITH collect(DISTINCT reader.runId) AS readers
UNWIND readers + $touchedRunIds AS rid
WITH DISTINCT rid
MATCH (r:Run {runId: rid})-[rd:READ]->(d:Dataset)
OPTIONAL MATCH (r)-[old:READ_VERSION]->(:DatasetVersion)-[:VERSION_OF]->(d)
DELETE old
WITH DISTINCT r, rd, d
CALL (r, rd, d) {
  MATCH (v:DatasetVersion)-[:VERSION_OF]->(d)
  WHERE (rd.pinnedVersionId IS NOT NULL AND v.nodeId = rd.pinnedVersionId)
     OR (rd.pinnedVersionId IS NULL AND v.createdAt <= r.startedAt
         AND NOT (r)-[:WROTE_VERSION]->(v))
  RETURN v
  ORDER BY v.createdAt DESC, v.version DESC
  LIMIT 1
}
MERGE (r)-[:READ_VERSION]->(v)
"""

APPLY_STATEMENTS: list[tuple[str, LiteralString]] = [
    ("namespaces", MERGE_NAMESPACES),
    ("jobs", MERGE_JOBS),
    ("datasets", MERGE_DATASETS),
    ("runs", MERGE_RUNS),
    ("parents", MERGE_PARENTS),
    ("jobReads", MERGE_JOB_READS),
    ("jobWrites", MERGE_JOB_WRITES),
    ("versions", MERGE_VERSIONS),
    ("runReads", MERGE_RUN_READS),
    ("runWrites", MERGE_RUN_WRITES),
    ("facets", MERGE_FACETS),
    ("fields", MERGE_FIELDS),
    ("columnLineage", MERGE_COLUMN_LINEAGE),
]


def lock_event_sequence(tx: neo4j.ManagedTransaction) -> int:
    """Take the event-sequence lock: writers are serialized, so sequence numbers are gap-free."""
    record = tx.run(LOCK_EVENT_SEQUENCE).single()
    return int(record["value"]) if record else 0


def existing_event_hashes(tx: neo4j.ManagedTransaction, hashes: list[str]) -> dict[str, int]:
    return {r["sha256"]: r["seq"] for r in tx.run(EXISTING_EVENT_HASHES, hashes=hashes)}


def record_events(tx: neo4j.ManagedTransaction, events: list[dict[str, Any]]) -> dict[str, int]:
    if not events:
        return {}
    return {r["sha256"]: r["seq"] for r in tx.run(RECORD_EVENTS, events=events)}


def apply_plan(tx: neo4j.ManagedTransaction, params: dict[str, Any]) -> None:
    """Write every row list of a plan; skips empty lists (no round trip)."""
    for key, statement in APPLY_STATEMENTS:
        if params[key]:
            tx.run(statement, {key: params[key]}).consume()
    if params["touchedRunIds"] or params["versionedDatasetIds"]:
        tx.run(
            RESOLVE_READ_VERSIONS,
            touchedRunIds=params["touchedRunIds"],
            versionedDatasetIds=params["versionedDatasetIds"],
        ).consume()
