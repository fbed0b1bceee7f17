"""All Cypher of the labeling aggregate: labeling schemas and their immutable versions."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

from lineage_graph.ids import labeling_schema_version_id

# Writers of one schema name are serialized by the lock on its :LabelingSchema node, so two
# concurrent creations cannot both become version n+1.
LOCK_SCHEMA_AND_FIND: LiteralString = """
MERGE (s:LabelingSchema {name: $name})
ON CREATE SET s.createdAt = datetime()
SET s.lockedAt = timestamp()
WITH s
OPTIONAL MATCH (s)-[:HAS_VERSION]->(same:LabelingSchemaVersion {definitionHash: $digest})
OPTIONAL MATCH (s)-[:HAS_VERSION]->(v:LabelingSchemaVersion)
WITH same, v ORDER BY v.version DESC
WITH same, collect(v)[0] AS latest
RETURN same {.*} AS existing, latest {.*} AS latest
"""

CREATE_VERSION: LiteralString = """
MATCH (s:LabelingSchema {name: $name})
OPTIONAL MATCH (s)-[:HAS_VERSION]->(prev:LabelingSchemaVersion {version: $version - 1})
CREATE (v:LabelingSchemaVersion:LineageNode {
  nodeId: $nodeId, name: $name, namespace: 'labeling', version: $version,
  definition: $definition, definitionHash: $digest, changes: $changes, createdAt: datetime()
})
SET v += $fields
CREATE (s)-[:HAS_VERSION]->(v)
FOREACH (_ IN CASE WHEN prev IS NULL THEN [] ELSE [1] END | CREATE (v)-[:PREVIOUS_VERSION]->(prev))
RETURN v {.*} AS version
"""

SCHEMA_VERSION: LiteralString = """
MATCH (:LabelingSchema {name: $name})-[:HAS_VERSION]->(v:LabelingSchemaVersion)
WHERE $version IS NULL OR v.version = $version
RETURN v {.*} AS version
ORDER BY v.version DESC
LIMIT 1
"""


def lock_schema_and_find(
    tx: neo4j.ManagedTransaction, name: str, digest: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    record = tx.run(LOCK_SCHEMA_AND_FIND, name=name, digest=digest).single()
    if record is None:
        return None, None
    return record["existing"], record["latest"]


def create_version(tx: neo4j.ManagedTransaction, *, name: str, definition: str, digest: str,
                   version: int, changes: list[str], fields: dict[str, Any]) -> dict[str, Any]:


    record = tx.run(CREATE_VERSION, name=name, definition=definition, digest=digest,
                    version=version, changes=changes, fields=fields,
                    nodeId=labeling_schema_version_id(name, version)).single()
    assert record is not None
    created: dict[str, Any] = record["version"]
    return created


def schema_version(tx: neo4j.ManagedTransaction, name: str,
                   version: int | None) -> dict[str, Any] | None:
    record = tx.run(SCHEMA_VERSION, name=name, version=version).single()
    found: dict[str, Any] | None = None if record is None else record["version"]
    return found
