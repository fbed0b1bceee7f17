"""All Cypher of the labeling aggregate: labeling schemas and their immutable versions,
sessions and labels.

Every write here is the projection of a record (``lineage_graph.labeling.commands``): times
come from the record (``$atMs``, the time it was received), never from the clock at write
time, and ids are derived, never random, so ``db rebuild`` writes the same graph again. Nodes
written this way carry ``recorded: true``."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

from lineage_graph.db.parameters import UnloggedRows
from lineage_graph.db.results import Row, column, first
from lineage_graph.ids import dataset_version_id, labeling_schema_version_id, namespace_key

# Writers of one schema name are serialized by the lock on its :LabelingSchema node, so two
# concurrent creations cannot both become version n+1.
LOCK_SCHEMA_AND_FIND: LiteralString = """
MERGE (s:LabelingSchema {name: $name})
ON CREATE SET s.createdAt = datetime({epochMillis: $atMs})
SET s.lockedAt = timestamp()
WITH s
OPTIONAL MATCH (s)-[:HAS_VERSION]->(same:LabelingSchemaVersion {definitionHash: $digest})
OPTIONAL MATCH (s)-[:HAS_VERSION]->(v:LabelingSchemaVersion)
WITH same, v ORDER BY v.version DESC
WITH same, collect(v)[0] AS latest
RETURN same {.*} AS existing, latest {.*} AS latest
"""


def lock_schema_and_find(tx: neo4j.ManagedTransaction, *, name: str, digest: str, at_ms: int
                         ) -> tuple[Row | None, Row | None]:
    """Lock the schema name (creating it); return its version with this definition hash and
    its latest version, each None when there is none."""
    record = tx.run(LOCK_SCHEMA_AND_FIND, name=name, digest=digest, atMs=at_ms).single()
    if record is None:
        return None, None
    return record["existing"], record["latest"]


# MERGE, not CREATE: a labelingSchema facet may have named this version before it existed,
# leaving a placeholder with the same nodeId (the version number is latest + 1 under the lock,
# so a real version is never merged twice).
CREATE_VERSION: LiteralString = """
MATCH (s:LabelingSchema {name: $name})
OPTIONAL MATCH (s)-[:HAS_VERSION]->(prev:LabelingSchemaVersion {version: $version - 1})
MERGE (v:LabelingSchemaVersion:LineageNode {nodeId: $nodeId})
SET v += {name: $name, namespace: 'labeling', version: $version, definition: $definition,
          definitionHash: $digest, changes: $changes, createdAt: datetime({epochMillis: $atMs}),
          placeholder: false, recorded: true}
SET v += $fields
CREATE (s)-[:HAS_VERSION]->(v)
FOREACH (_ IN CASE WHEN prev IS NULL THEN [] ELSE [1] END | CREATE (v)-[:PREVIOUS_VERSION]->(prev))
RETURN v {.*} AS version
"""


def create_version(tx: neo4j.ManagedTransaction, *, name: str, definition: str, digest: str,
                   version: int, changes: list[str], fields: dict[str, Any], at_ms: int
                   ) -> Row:
    record = tx.run(CREATE_VERSION, name=name, definition=definition, digest=digest,
                    version=version, changes=changes, fields=fields, atMs=at_ms,
                    nodeId=labeling_schema_version_id(name, version)).single()
    assert record is not None
    created: Row = record["version"]
    return created


SCHEMA_VERSION: LiteralString = """
MATCH (:LabelingSchema {name: $name})-[:HAS_VERSION]->(v:LabelingSchemaVersion)
WHERE $version IS NULL OR v.version = $version
RETURN v {.*} AS version
ORDER BY v.version DESC
LIMIT 1
"""


def schema_version(tx: neo4j.ManagedTransaction, name: str, version: int | None) -> Row | None:
    """The version of the schema named, or its latest when ``version`` is None."""
    found: Row | None = first(tx, SCHEMA_VERSION, "version", name=name, version=version)
    return found


CREATE_SESSION: LiteralString = """
MERGE (targetNs:Namespace {key: $targetNamespaceKey}) ON CREATE SET targetNs.name = $targetNamespace
MERGE (labelsNs:Namespace {key: $labelsNamespaceKey}) ON CREATE SET labelsNs.name = $labelsNamespace
MERGE (target:Dataset:LineageNode {nodeId: $targetId})
ON CREATE SET target.namespace = $targetNamespace, target.name = $targetName
MERGE (targetNs)-[:HAS_DATASET]->(target)
MERGE (labels:Dataset:LineageNode {nodeId: $labelsId})
ON CREATE SET labels.namespace = $labelsNamespace, labels.name = $labelsName
MERGE (labelsNs)-[:HAS_DATASET]->(labels)
MERGE (s:LabelingSession:LineageNode {nodeId: $sessionId})
ON CREATE SET s.name = $name, s.namespace = 'labeling', s.assignedUsers = $users,
              s.batches = 0, s.createdAt = datetime({epochMillis: $atMs}),
              s.activeSchemaVersionIds = $schemaVersionIds, s.recorded = true
MERGE (s)-[:LABELS]->(target)
MERGE (s)-[:PRODUCES]->(labels)
WITH s
UNWIND $schemaVersionIds AS vid
MATCH (v:LabelingSchemaVersion {nodeId: vid})
MERGE (s)-[:USES_SCHEMA]->(v)
RETURN DISTINCT s.nodeId AS sessionId
"""


def create_session(tx: neo4j.ManagedTransaction, *, session_id: str, name: str,
                   schema_version_ids: list[str], users: list[str], target_id: str,
                   target_namespace: str, target_name: str, labels_id: str,
                   labels_namespace: str, labels_name: str, at_ms: int) -> Row:
    """Create the session, or leave an existing one with this id as it is (the caller compares
    what it found with what was asked)."""
    tx.run(CREATE_SESSION, sessionId=session_id, name=name, users=users, atMs=at_ms,
           schemaVersionIds=schema_version_ids, targetId=target_id,
           targetNamespace=target_namespace, targetNamespaceKey=namespace_key(target_namespace),
           targetName=target_name, labelsId=labels_id, labelsNamespace=labels_namespace,
           labelsNamespaceKey=namespace_key(labels_namespace), labelsName=labels_name).consume()
    found = session(tx, session_id)
    assert found is not None
    return found


SESSION: LiteralString = """
MATCH (s:LabelingSession {nodeId: $sessionId})
MATCH (s)-[:LABELS]->(target:Dataset)
MATCH (s)-[:PRODUCES]->(labels:Dataset)
OPTIONAL MATCH (s)-[:USES_SCHEMA]->(v:LabelingSchemaVersion)
WHERE s.activeSchemaVersionIds IS NULL OR v.nodeId IN s.activeSchemaVersionIds
WITH s, target, labels, v ORDER BY v.name
WITH s, target, labels, collect(v {.*}) AS schemas
RETURN s {.*, target: target {.namespace, .name}, labels: labels {.namespace, .name},
          schemas: schemas, labelCount: COUNT { (s)-[:HAS_LABEL]->() },
          usedSchemaIds: COLLECT { MATCH (s)-[:USES_SCHEMA]->(u) RETURN u.nodeId }} AS session
"""


def session(tx: neo4j.ManagedTransaction, session_id: str) -> Row | None:
    found: Row | None = first(tx, SESSION, "session", sessionId=session_id)
    return found


# A session keeps every schema version it ever used (USES_SCHEMA, for lineage) and validates
# new labels against the active ones.
SET_ACTIVE_SCHEMAS: LiteralString = """
MATCH (s:LabelingSession {nodeId: $sessionId})
SET s.activeSchemaVersionIds = $schemaVersionIds
WITH s
UNWIND $schemaVersionIds AS vid
MATCH (v:LabelingSchemaVersion {nodeId: vid})
MERGE (s)-[:USES_SCHEMA]->(v)
"""


def set_active_schemas(tx: neo4j.ManagedTransaction, session_id: str,
                       schema_version_ids: list[str]) -> None:
    tx.run(SET_ACTIVE_SCHEMAS, sessionId=session_id,
           schemaVersionIds=schema_version_ids).consume()


LOCK_SESSION: LiteralString = """
MATCH (s:LabelingSession {nodeId: $sessionId}) SET s.lockedAt = timestamp()
"""


def lock_session(tx: neo4j.ManagedTransaction, session_id: str) -> None:
    """Take the session's write lock, held until the transaction ends."""
    tx.run(LOCK_SESSION, sessionId=session_id).consume()


BATCH_BY_KEY: LiteralString = """
MATCH (:LabelingSession {nodeId: $sessionId})-[:PRODUCED_VERSION]->(dv:DatasetVersion
                                                                  {batchKey: $batchKey})
RETURN dv.nodeId AS versionId, dv.version AS version, dv.labelsDigest AS labelsDigest,
       COUNT { (dv)<-[:IN_VERSION]-(:Label) } AS added
"""


def batch_by_key(tx: neo4j.ManagedTransaction, session_id: str, batch_key: str) -> Row | None:
    record = tx.run(BATCH_BY_KEY, sessionId=session_id, batchKey=batch_key).single()
    return None if record is None else record.data()


NEXT_LABEL_BATCH: LiteralString = """
MATCH (s:LabelingSession {nodeId: $sessionId})-[:PRODUCES]->(labels:Dataset)
SET s.batches = s.batches + 1
RETURN s.batches AS batch, labels.namespace AS namespace, labels.name AS name,
       labels.nodeId AS datasetId
"""


def next_label_batch(tx: neo4j.ManagedTransaction, session_id: str) -> Row:
    """Count one more batch of the session: its ``batch`` number, and the ``namespace``,
    ``name`` and ``datasetId`` of the session's labels dataset."""
    record = tx.run(NEXT_LABEL_BATCH, sessionId=session_id).single()
    assert record is not None
    return record.data()


# One batch of labels = one new version of the session's labels dataset, linked to the schema
# versions its labels use (a training run reading it reaches them in lineage).
ADD_LABELS: LiteralString = """
MATCH (s:LabelingSession {nodeId: $sessionId})-[:PRODUCES]->(labels:Dataset)
// MERGE: an event may have named this version already (a run that read or wrote
// "batch-N" of the labels dataset); a CREATE would then fail for ever.
MERGE (dv:DatasetVersion {nodeId: $versionId})
ON CREATE SET dv.datasetId = labels.nodeId, dv.version = $version
SET dv.createdAt = coalesce(dv.createdAt, datetime({epochMillis: $atMs})),
    dv.batchKey = $batchKey, dv.labelsDigest = $labelsDigest
MERGE (dv)-[:VERSION_OF]->(labels)
MERGE (s)-[:PRODUCED_VERSION]->(dv)
WITH s, dv
UNWIND $labels AS row
MATCH (v:LabelingSchemaVersion {nodeId: row.schemaVersionId})
CREATE (l:Label {labelId: row.labelId, itemId: row.itemId, value: row.value,
                 source: row.source, author: row.author, comment: row.comment,
                 time: datetime(row.time), recorded: true})
CREATE (s)-[:HAS_LABEL]->(l)
CREATE (l)-[:USES_SCHEMA]->(v)
CREATE (l)-[:IN_VERSION]->(dv)
MERGE (dv)-[:LABELED_WITH]->(v)
RETURN dv.nodeId AS versionId, dv.version AS version, count(l) AS added
"""


def add_labels(tx: neo4j.ManagedTransaction, *, session_id: str, labels: list[Row],
               batch_key: str | None, labels_digest: str, at_ms: int) -> Row:
    """Write one batch; with ``batch_key``, a batch already written under that key is returned
    instead (``existing``: true), checked under the session's write lock so a key is used
    once."""
    lock_session(tx, session_id)
    if batch_key is not None:
        found = batch_by_key(tx, session_id, batch_key)
        if found is not None:
            return {**found, "existing": True}
    batch = next_label_batch(tx, session_id)
    version = f"batch-{batch['batch']}"
    record = tx.run(ADD_LABELS, sessionId=session_id, labels=UnloggedRows(labels),
                    version=version, batchKey=batch_key, labelsDigest=labels_digest, atMs=at_ms,
                    versionId=dataset_version_id(batch["namespace"], batch["name"], version)
                    ).single()
    assert record is not None
    return {**record.data(), "existing": False}


# Labels in (time, labelId) order after a cursor, with their schema version, session and batch:
# of one session (from its node), or of one item in every session (from the index on itemId).
_LABEL_PAGE: LiteralString = """
WHERE ($itemId IS NULL OR l.itemId = $itemId)
  AND ($afterTime IS NULL OR l.time > datetime($afterTime)
       OR (l.time = datetime($afterTime) AND l.labelId > $afterId))
MATCH (l)-[:USES_SCHEMA]->(v:LabelingSchemaVersion)
WHERE $schema IS NULL OR v.name = $schema
MATCH (l)-[:IN_VERSION]->(dv:DatasetVersion)
RETURN l {.*, sessionId: s.nodeId, sessionName: s.name, schemaVersionId: v.nodeId,
          schemaName: v.name, schemaVersion: v.version, batch: dv.version,
          batchId: dv.nodeId} AS label
ORDER BY l.time, l.labelId
LIMIT $limit
"""

LABELS_OF_SESSION: LiteralString = """
MATCH (s:LabelingSession {nodeId: $sessionId})-[:HAS_LABEL]->(l:Label)
""" + _LABEL_PAGE

LABELS_OF_ITEM: LiteralString = """
MATCH (l:Label {itemId: $itemId})<-[:HAS_LABEL]-(s:LabelingSession)
""" + _LABEL_PAGE


def labels(tx: neo4j.ManagedTransaction, *, session_id: str | None, item_id: str | None,
           schema: str | None, after: tuple[str, str] | None, limit: int) -> list[Row]:
    """Labels with their schema version, session and batch; ``after`` is the (time, labelId)
    of the last label of the previous page."""
    query = LABELS_OF_SESSION if session_id is not None else LABELS_OF_ITEM
    return column(tx, query, "label", sessionId=session_id, itemId=item_id, schema=schema,
                  limit=limit, afterTime=None if after is None else after[0],
                  afterId=None if after is None else after[1])
