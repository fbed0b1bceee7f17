"""All Cypher that reads USD scenes, scene versions and scene variants."""

from __future__ import annotations

from typing import LiteralString

SCENE_VERSION: LiteralString = """
MATCH (:Scene {sceneId: $sceneId})-[:HAS_VERSION]->(sv:SceneVersion)
WHERE ($version IS NULL OR sv.version = $version)
  AND ($contentHash IS NULL OR sv.contentHash = $contentHash)
RETURN sv {.*} AS node
ORDER BY sv.ingestedAt DESC
LIMIT 1
"""

SCENE_VERSION_BY_ID: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $nodeId})
RETURN sv {.*} AS node
"""

VERSIONS_OF_SCENE: LiteralString = """
MATCH (:Scene {sceneId: $sceneId})-[:HAS_VERSION]->(sv:SceneVersion)
RETURN sv.version AS version, sv.contentHash AS contentHash, sv.nodeId AS nodeId,
       sv.ingestedAt AS ingestedAt
ORDER BY sv.ingestedAt DESC
"""

LAYERS_OF_SCENE_VERSION: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $nodeId})-[uses:USES_LAYER]->(layer:Layer)
OPTIONAL MATCH (sv)-[:HAS_ARC]->(arc:CompositionArc {layer: uses.path})
WITH uses, layer, collect(arc {.kind, .target, .resolved, .prim}) AS arcs
RETURN uses.path AS path, layer.sha256 AS sha256, arcs
ORDER BY path
LIMIT $limit
"""

VARIANT_SETS_OF_SCENE_VERSION: LiteralString = """
MATCH (:SceneVersion {nodeId: $nodeId})-[:HAS_VARIANT_SET]->(vs:VariantSet)
OPTIONAL MATCH (vs)-[:HAS_OPTION]->(opt:VariantOption)
WITH vs, opt ORDER BY opt.name
RETURN vs.name AS name, vs.default AS default, vs.existsUnder AS existsUnder,
       collect(opt.name) AS options
ORDER BY name
"""

VARIANTS_OF_SCENE_VERSION: LiteralString = """
MATCH (:SceneVersion {nodeId: $nodeId})-[:HAS_VARIANT]->(v:SceneVariant)
RETURN v {.*} AS node
ORDER BY v.selections
LIMIT $limit
"""

DEFAULT_PRIMS_OF_SCENE_VERSION: LiteralString = """
MATCH (:SceneVersion {nodeId: $nodeId})-[has:HAS_PRIM]->(p:Prim)
WHERE has.inDefault AND p.path STARTS WITH $pathPrefix
RETURN p {.path, .type, .kind, .instanceable, .instanceProxy} AS prim
ORDER BY p.path
LIMIT $limit
"""

SCENE_VARIANT: LiteralString = """
MATCH (v:SceneVariant {nodeId: $nodeId})
OPTIONAL MATCH (sv:SceneVersion)-[:HAS_VARIANT]->(v)
RETURN v {.*, versionNodeId: sv.nodeId} AS node
"""

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

DATASETS_OF_SCENE_VARIANT: LiteralString = """
MATCH (d:Dataset)-[:FROM_SCENE_VARIANT]->(:SceneVariant {nodeId: $nodeId})
RETURN d {.*, kind: 'DATASET'} AS node
ORDER BY d.nodeId
LIMIT $limit
"""
