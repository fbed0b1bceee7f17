"""All Cypher that reads model versions."""

from __future__ import annotations

from typing import LiteralString

import neo4j

from lineage_graph.db.results import Row, column, every_row, first, one_row

MODEL_VERSION: LiteralString = """
MATCH (m:ModelVersion {name: $name, version: $version})
RETURN m {.*} AS node
"""


def model_version(tx: neo4j.ManagedTransaction, name: str, version: str) -> Row | None:
    found: Row | None = first(tx, MODEL_VERSION, "node", name=name, version=version)
    return found


MODEL_VERSIONS: LiteralString = """
MATCH (m:ModelVersion)
RETURN m {.*} AS node
ORDER BY m.name, m.version
LIMIT $limit
"""


def model_versions(tx: neo4j.ManagedTransaction, limit: int) -> list[Row]:
    return column(tx, MODEL_VERSIONS, "node", limit=limit)


TRAINED_BY: LiteralString = """
MATCH (r:Run)-[:TRAINED]->(:ModelVersion {nodeId: $nodeId})
RETURN r {.*, kind: 'RUN'} AS node
LIMIT 1
"""


def trained_by(tx: neo4j.ManagedTransaction, node_id: str) -> Row | None:
    """The run that trained the model version, or None."""
    found: Row | None = first(tx, TRAINED_BY, "node", nodeId=node_id)
    return found


DERIVED_FROM: LiteralString = """
MATCH (:ModelVersion {nodeId: $nodeId})-[:DERIVED_FROM_MODEL]->(base:ModelVersion)
RETURN base {.*} AS node
ORDER BY base.name, base.version
"""


def derived_from(tx: neo4j.ManagedTransaction, node_id: str) -> list[Row]:
    """The model versions this one declares it was derived from."""
    return column(tx, DERIVED_FROM, "node", nodeId=node_id)


# Metrics of a model version, with the run that measured each and the slice's scene variant.
METRICS_OF_MODEL: LiteralString = """
MATCH (:ModelVersion {nodeId: $nodeId})-[:HAS_METRIC]->(x:Metric)
WHERE $name IS NULL OR x.name = $name
MATCH (r:Run)-[:MEASURED]->(x)
OPTIONAL MATCH (x)-[:FOR_SCENE_VARIANT]->(v:SceneVariant)
OPTIONAL MATCH (sv:SceneVersion)-[:HAS_VARIANT]->(v)
RETURN x {.*} AS metric, r {.*, kind: 'RUN'} AS run,
       CASE WHEN v IS NULL THEN null ELSE v {.*, versionNodeId: sv.nodeId} END AS sceneVariant
ORDER BY x.name, x.sliceKey, r.startedAt, r.runId
LIMIT $limit
"""


def metrics_of_model(tx: neo4j.ManagedTransaction, *, node_id: str, name: str | None,
                     limit: int) -> list[Row]:
    """Rows of ``metric``, ``run`` and ``sceneVariant`` (or None)."""
    return every_row(tx, METRICS_OF_MODEL, nodeId=node_id, name=name, limit=limit)


# The model versions holding the given digest, and how many distinct tensors they hold.
MODELS_WITH_DIGEST: LiteralString = """
OPTIONAL MATCH (q:ModelVersion {digest: $digest})
WITH q, COUNT { (q)-[:HAS_TENSOR]->(:Tensor) } AS links
RETURN count(q) AS models, sum(links) AS tensorLinks
"""


def models_with_digest(tx: neo4j.ManagedTransaction, digest: str) -> Row:
    """How many model versions hold the digest (``models``) and their ``tensorLinks``."""
    return one_row(tx, MODELS_WITH_DIGEST, digest=digest)


# Candidate origins of the model with this digest: every other model version sharing at least
# one tensor, ranked by shared tensors, then by the share of the candidate's own tensors that
# the query model kept, then earliest trained (a base predates its fine-tunes), then by name.
MODEL_ORIGIN: LiteralString = """
MATCH (q:ModelVersion {digest: $digest})-[:HAS_TENSOR]->(t:Tensor)
WITH collect(DISTINCT t) AS tensors, collect(DISTINCT q) AS queried
WITH tensors, queried, size(tensors) AS queryTensors
UNWIND tensors AS t
MATCH (t)<-[:HAS_TENSOR]-(c:ModelVersion)
WHERE NOT c IN queried
WITH c, queried, queryTensors, count(DISTINCT t) AS shared
WITH c, queried, queryTensors, shared,
     COUNT { MATCH (c)-[:HAS_TENSOR]->(own:Tensor) RETURN DISTINCT own } AS candidateTensors,
     EXISTS { MATCH (q)-[:DERIVED_FROM_MODEL]->(c) WHERE q IN queried } AS declared
OPTIONAL MATCH (r:Run)-[:TRAINED]->(c)
WITH c, queryTensors, shared, candidateTensors, declared, min(r.startedAt) AS trainedAt
RETURN c {.*} AS node, shared, queryTensors, candidateTensors, declared, trainedAt
ORDER BY shared DESC, toFloat(shared) / candidateTensors DESC, trainedAt ASC, c.name, c.version
LIMIT $limit
"""


def model_origin(tx: neo4j.ManagedTransaction, digest: str, limit: int) -> list[Row]:
    return every_row(tx, MODEL_ORIGIN, digest=digest, limit=limit)
