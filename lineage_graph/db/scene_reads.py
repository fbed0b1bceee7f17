"""All Cypher that reads USD scenes, scene versions and scene variants."""

from __future__ import annotations

from typing import LiteralString

import neo4j

from lineage_graph.db.results import Row, column, every_row, first

SCENE_VERSION: LiteralString = """
MATCH (:Scene {sceneId: $sceneId})-[:HAS_VERSION]->(sv:SceneVersion)
WHERE ($version IS NULL OR sv.version = $version)
  AND ($contentHash IS NULL OR sv.contentHash = $contentHash)
RETURN sv {.*} AS node
ORDER BY sv.ingestedAt DESC
LIMIT 1
"""


def scene_version(tx: neo4j.ManagedTransaction, *, scene_id: str, version: str | None,
                  content_hash: str | None) -> Row | None:
    found: Row | None = first(tx, SCENE_VERSION, "node", sceneId=scene_id, version=version,
                              contentHash=content_hash)
    return found


SCENE_VERSION_BY_ID: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $nodeId})
RETURN sv {.*} AS node
"""


def scene_version_by_id(tx: neo4j.ManagedTransaction, node_id: str) -> Row | None:
    found: Row | None = first(tx, SCENE_VERSION_BY_ID, "node", nodeId=node_id)
    return found


VERSIONS_OF_SCENE: LiteralString = """
MATCH (:Scene {sceneId: $sceneId})-[:HAS_VERSION]->(sv:SceneVersion)
RETURN sv.version AS version, sv.contentHash AS contentHash, sv.nodeId AS nodeId,
       sv.ingestedAt AS ingestedAt
ORDER BY sv.ingestedAt DESC
"""


def versions_of_scene(tx: neo4j.ManagedTransaction, scene_id: str) -> list[Row]:
    return every_row(tx, VERSIONS_OF_SCENE, sceneId=scene_id)


LAYERS_OF_SCENE_VERSION: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $nodeId})-[uses:USES_LAYER]->(layer:Layer)
OPTIONAL MATCH (sv)-[:HAS_ARC]->(arc:CompositionArc {layer: uses.path})
WITH uses, layer, collect(arc {.kind, .target, .resolved, .prim}) AS arcs
RETURN uses.path AS path, layer.sha256 AS sha256, arcs
ORDER BY path
LIMIT $limit
"""


def layers_of_scene_version(tx: neo4j.ManagedTransaction, node_id: str, limit: int
                            ) -> list[Row]:
    return every_row(tx, LAYERS_OF_SCENE_VERSION, nodeId=node_id, limit=limit)


VARIANT_SETS_OF_SCENE_VERSION: LiteralString = """
MATCH (:SceneVersion {nodeId: $nodeId})-[:HAS_VARIANT_SET]->(vs:VariantSet)
OPTIONAL MATCH (vs)-[:HAS_OPTION]->(opt:VariantOption)
WITH vs, opt ORDER BY opt.name
RETURN vs.name AS name, vs.default AS default, vs.existsUnder AS existsUnder,
       collect(opt.name) AS options
ORDER BY name
"""


def variant_sets_of_scene_version(tx: neo4j.ManagedTransaction, node_id: str) -> list[Row]:
    """``existsUnder`` as stored: a JSON text, or null."""
    return every_row(tx, VARIANT_SETS_OF_SCENE_VERSION, nodeId=node_id)


VARIANTS_OF_SCENE_VERSION: LiteralString = """
MATCH (:SceneVersion {nodeId: $nodeId})-[:HAS_VARIANT]->(v:SceneVariant)
RETURN v {.*} AS node
ORDER BY v.selections
LIMIT $limit
"""


def variants_of_scene_version(tx: neo4j.ManagedTransaction, node_id: str, limit: int
                              ) -> list[Row]:
    return column(tx, VARIANTS_OF_SCENE_VERSION, "node", nodeId=node_id, limit=limit)


DEFAULT_PRIMS_OF_SCENE_VERSION: LiteralString = """
MATCH (:SceneVersion {nodeId: $nodeId})-[has:HAS_PRIM]->(p:Prim)
WHERE has.inDefault AND p.path STARTS WITH $pathPrefix
RETURN p {.path, .type, .kind, .instanceable, .instanceProxy} AS prim
ORDER BY p.path
LIMIT $limit
"""


def default_prims_of_scene_version(tx: neo4j.ManagedTransaction, *, node_id: str,
                                   path_prefix: str, limit: int) -> list[Row]:
    return column(tx, DEFAULT_PRIMS_OF_SCENE_VERSION, "prim", nodeId=node_id,
                  pathPrefix=path_prefix, limit=limit)


SCENE_VARIANT: LiteralString = """
MATCH (v:SceneVariant {nodeId: $nodeId})
OPTIONAL MATCH (sv:SceneVersion)-[:HAS_VARIANT]->(v)
RETURN v {.*, versionNodeId: sv.nodeId} AS node
"""


def scene_variant(tx: neo4j.ManagedTransaction, node_id: str) -> Row | None:
    found: Row | None = first(tx, SCENE_VARIANT, "node", nodeId=node_id)
    return found


# A variant's prims: the default composition, minus what it removes, plus what it adds.
PRIMS_OF_SCENE_VARIANT: LiteralString = """
MATCH (sv:SceneVersion)-[:HAS_VARIANT]->(v:SceneVariant {nodeId: $nodeId})
MATCH (sv)-[has:HAS_PRIM]->(p:Prim)
WHERE p.path STARTS WITH $pathPrefix
  AND ((has.inDefault AND NOT (v)-[:REMOVES_PRIM]->(p)) OR (v)-[:ADDS_PRIM]->(p))
RETURN p {.path, .type, .kind, .instanceable, .instanceProxy} AS prim
ORDER BY p.path
LIMIT $limit
"""


def prims_of_scene_variant(tx: neo4j.ManagedTransaction, *, node_id: str, path_prefix: str,
                           limit: int) -> list[Row]:
    return column(tx, PRIMS_OF_SCENE_VARIANT, "prim", nodeId=node_id, pathPrefix=path_prefix,
                  limit=limit)


DATASETS_OF_SCENE_VARIANT: LiteralString = """
MATCH (d:Dataset)-[:FROM_SCENE_VARIANT]->(:SceneVariant {nodeId: $nodeId})
RETURN d {.*, kind: 'DATASET'} AS node
ORDER BY d.nodeId
LIMIT $limit
"""


def datasets_of_scene_variant(tx: neo4j.ManagedTransaction, node_id: str, limit: int
                              ) -> list[Row]:
    return column(tx, DATASETS_OF_SCENE_VARIANT, "node", nodeId=node_id, limit=limit)
