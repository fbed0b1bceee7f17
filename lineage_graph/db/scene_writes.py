"""All Cypher that writes USD scene documents.

A scene version whose content is new is *staged*: its prims are CREATEd in chunks, one
transaction each, under a ``:PendingSceneVersion`` node that no reader follows; one last
transaction turns that node into the ``:SceneVersion`` (with everything else the document holds
and its record), so readers see all of a version or none of it (lineage_graph.usd.staging says
who may stage). ``db rebuild``, and a version stored before scene documents were recorded, go
through ``STORE_SCENE``: one statement of ``UNWIND`` blocks that MERGE on keys, so it changes
nothing that is already there."""

from __future__ import annotations

import re
from typing import Any, LiteralString

import neo4j

from lineage_graph.db.parameters import UnloggedRows, unlogged

MERGE_SCENE_VERSION: LiteralString = """
MERGE (scene:Scene {sceneId: $version.sceneId})
MERGE (sv:SceneVersion:LineageNode {nodeId: $version.nodeId})
ON CREATE SET sv.sceneId = $version.sceneId, sv.version = $version.version,
              sv.contentHash = $version.contentHash, sv.rootLayer = $version.rootLayer,
              sv.rootPrim = $version.rootPrim, sv.missingAssets = $version.missingAssets,
              sv.defaultSelections = $version.defaultSelections, sv.name = $version.name,
              sv.namespace = 'usd', sv.ingestedAt = datetime({epochMillis: $version.ingestedAtMs}),
              sv.primDetail = $version.primDetail, sv.primCount = $version.primCount,
              sv.primTypeCounts = $version.primTypeCounts
// Versions stored before documents were recorded adopt the first document recorded for them.
SET sv.documentSha256 = coalesce(sv.documentSha256, $version.documentSha256)
MERGE (scene)-[:HAS_VERSION]->(sv)
"""

MERGE_LAYERS: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $version.nodeId})
UNWIND $layers AS row
MERGE (layer:Layer {sha256: row.sha256})
MERGE (sv)-[uses:USES_LAYER {path: row.path}]->(layer)
"""

MERGE_ARCS: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $version.nodeId})
UNWIND $arcs AS row
MERGE (arc:CompositionArc {arcId: row.arcId})
ON CREATE SET arc.kind = row.kind, arc.layer = row.layer, arc.target = row.target,
              arc.resolved = row.resolved, arc.prim = row.prim
MERGE (sv)-[:HAS_ARC]->(arc)
"""

MERGE_PRIMS: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $version.nodeId})
UNWIND $prims AS row
MERGE (prim:Prim {primId: row.primId})
ON CREATE SET prim.path = row.path, prim.type = row.type, prim.kind = row.kind,
              prim.instanceable = row.instanceable, prim.instanceProxy = row.instanceProxy
MERGE (sv)-[has:HAS_PRIM]->(prim)
SET has.inDefault = row.inDefault
"""

MERGE_VARIANT_SETS: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $version.nodeId})
UNWIND $variantSets AS row
MERGE (vs:VariantSet {variantSetId: row.variantSetId})
ON CREATE SET vs.name = row.name, vs.default = row.default, vs.existsUnder = row.existsUnder
MERGE (sv)-[:HAS_VARIANT_SET]->(vs)
WITH vs, row
UNWIND row.options AS option
MERGE (opt:VariantOption {optionId: option.optionId})
ON CREATE SET opt.name = option.name, opt.variantSet = row.name
MERGE (vs)-[:HAS_OPTION]->(opt)
"""

# A scene variant may already exist as a placeholder (made when a dataset's usdScene facet named
# it before the scene arrived): MERGE on the id joins it.
MERGE_VARIANTS: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $version.nodeId})
UNWIND $variants AS row
MERGE (v:SceneVariant:LineageNode {nodeId: row.nodeId})
SET v.sceneId = $version.sceneId, v.version = $version.version,
    v.contentHash = $version.contentHash, v.selections = row.selections,
    v.primCount = row.primCount, v.name = row.name, v.namespace = 'usd', v.placeholder = false,
    v.primDetail = row.primDetail, v.primsAdded = row.primsAdded,
    v.primsRemoved = row.primsRemoved, v.primTypeCounts = row.primTypeCounts
MERGE (sv)-[:HAS_VARIANT]->(v)
WITH sv, v, row
CALL (sv, v, row) {
  UNWIND row.optionIds AS optionId
  MATCH (opt:VariantOption {optionId: optionId})
  MERGE (v)-[:SELECTS]->(opt)
}
CALL (sv, v, row) {
  UNWIND row.adds AS primId
  MATCH (prim:Prim {primId: primId})
  MERGE (v)-[:ADDS_PRIM]->(prim)
}
CALL (sv, v, row) {
  UNWIND row.removes AS primId
  MATCH (prim:Prim {primId: primId})
  MERGE (v)-[:REMOVES_PRIM]->(prim)
}
"""

# Datasets (usdScene facets) and metrics (evaluation facets) that named one of these variants
# before the scene arrived point at placeholders: move their links to the stored variant and
# drop the placeholder.
JOIN_PLACEHOLDERS: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $version.nodeId})-[:HAS_VARIANT]->(v:SceneVariant)
MATCH (p:SceneVariant {sceneId: sv.sceneId, selections: v.selections, placeholder: true})
WHERE p <> v
  AND (p.contentHash IS NULL OR p.contentHash = sv.contentHash)
  AND (p.version IS NULL OR p.version = sv.version)
CALL (p, v) {
  MATCH (d:Dataset)-[old:FROM_SCENE_VARIANT]->(p)
  MERGE (d)-[link:FROM_SCENE_VARIANT]->(v)
  SET link.since = old.since
}
CALL (p, v) {
  MATCH (x:Metric)-[:FOR_SCENE_VARIANT]->(p)
  MERGE (x)-[:FOR_SCENE_VARIANT]->(v)
}
DETACH DELETE p
"""

# -- staging a new scene version ------------------------------------------------------------

SCENE_VERSION_STORED: LiteralString = """
OPTIONAL MATCH (sv:SceneVersion {nodeId: $nodeId})
RETURN sv IS NOT NULL AS stored
"""

# A writer claims a new version's staging: it creates the pending node, or takes over one whose
# writer stopped beating (its heartbeat older than the lease), or finds it busy. Taking over
# changes the token first, so the old writer's next chunk or publication matches nothing.
# ``pending`` is read after the SET, which waited for the node's lock: a writer that matched
# the node while another one was publishing it finds it published (no longer pending), and
# must roll back what its SET wrote onto the published version.
CLAIM_PENDING_VERSION: LiteralString = """
MERGE (sv:PendingSceneVersion {nodeId: $nodeId})
ON CREATE SET sv.token = $token, sv.heartbeatAt = $nowMs, sv.staged = 0,
              sv.startedAt = datetime({epochMillis: $nowMs})
WITH sv, sv.token = $token AS mine, sv.heartbeatAt < $nowMs - $leaseMs AS stale
SET sv.token = CASE WHEN mine OR stale THEN $token ELSE sv.token END,
    sv.heartbeatAt = CASE WHEN mine OR stale THEN $nowMs ELSE sv.heartbeatAt END
RETURN mine OR stale AS owned, sv.staged AS staged, sv:PendingSceneVersion AS pending
"""

# The statements below that change a pending version MATCH it by token, then write to it (taking
# its lock, which a publishing or claiming writer may hold), then re-check: Neo4j does not
# re-check a MATCH once the lock is granted, so a writer that matched while another one took
# the staging over or published it finds out here (``still`` false) and its caller rolls back
# (the write it made landed on a version that is no longer its own).
_STILL_MINE: LiteralString = """
WITH sv, sv:PendingSceneVersion AND sv.token = $token AS still
"""

# One chunk of prims, each with its HAS_PRIM edge from the pending version. No prim of a new
# version exists yet (their ids derive from the version's content hash), so CREATE, not MERGE.
# ``staged`` counts what is staged, so a chunk the driver retries after a commit whose answer
# was lost is not written twice: it only writes when the count is where this chunk starts.
STAGE_PRIMS: LiteralString = """
MATCH (sv:PendingSceneVersion {nodeId: $nodeId, token: $token})
SET sv.heartbeatAt = $nowMs
""" + _STILL_MINE + """
WITH sv, still, still AND sv.staged = $offset AS fresh
CALL (sv, fresh) {
  WITH sv, fresh WHERE fresh
  UNWIND $prims AS row
  CREATE (prim:Prim {primId: row.primId, path: row.path, type: row.type, kind: row.kind,
                     instanceable: row.instanceable, instanceProxy: row.instanceProxy})
  CREATE (sv)-[:HAS_PRIM {inDefault: row.inDefault}]->(prim)
}
SET sv.staged = CASE WHEN fresh THEN $offset + size($prims) ELSE sv.staged END
RETURN still, sv.staged AS staged
"""

# Up to $limit staged prims of a pending version this writer owns (claimed: its own, or taken
# over from a writer that stopped), deleted; the count of staged prims follows.
DELETE_STAGED_PRIMS: LiteralString = """
MATCH (sv:PendingSceneVersion {nodeId: $nodeId, token: $token})
SET sv.heartbeatAt = $nowMs
""" + _STILL_MINE + """
CALL (sv, still) {
  WITH sv WHERE still
  OPTIONAL MATCH (sv)-[:HAS_PRIM]->(prim:Prim)
  WITH prim LIMIT $limit
  DETACH DELETE prim
  RETURN count(prim) AS deleted
}
SET sv.staged = CASE WHEN still THEN COUNT { (sv)-[:HAS_PRIM]->() } ELSE sv.staged END
RETURN still, deleted
"""

DELETE_PENDING_VERSION: LiteralString = """
MATCH (sv:PendingSceneVersion {nodeId: $nodeId, token: $token})
WHERE NOT (sv)-[:HAS_PRIM]->()
DELETE sv
"""

# The pending version becomes the scene version, with its staged prims, only when it holds all
# of them and still belongs to this writer.
PUBLISH_PENDING_VERSION: LiteralString = """
MATCH (sv:PendingSceneVersion {nodeId: $version.nodeId, token: $token})
SET sv.heartbeatAt = sv.heartbeatAt
""" + _STILL_MINE + """
WITH sv WHERE still AND sv.staged = $expected AND COUNT { (sv)-[:HAS_PRIM]->() } = $expected
REMOVE sv:PendingSceneVersion
REMOVE sv.token, sv.startedAt, sv.heartbeatAt, sv.staged
SET sv:SceneVersion:LineageNode,
    sv.sceneId = $version.sceneId, sv.version = $version.version,
    sv.contentHash = $version.contentHash, sv.rootLayer = $version.rootLayer,
    sv.rootPrim = $version.rootPrim, sv.missingAssets = $version.missingAssets,
    sv.defaultSelections = $version.defaultSelections, sv.name = $version.name,
    sv.namespace = 'usd', sv.ingestedAt = datetime({epochMillis: $version.ingestedAtMs}),
    sv.documentSha256 = $version.documentSha256, sv.primDetail = $version.primDetail,
    sv.primCount = $version.primCount, sv.primTypeCounts = $version.primTypeCounts
MERGE (scene:Scene {sceneId: $version.sceneId})
MERGE (scene)-[:HAS_VERSION]->(sv)
RETURN count(sv) AS published
"""

# What the published version still needs: everything but its prims, which it already holds.
COMPLETE_PUBLISHED_VERSION: LiteralString = (
    "CALL () {" + MERGE_LAYERS + "}\n"
    "CALL () {" + MERGE_ARCS + "}\n"
    "CALL () {" + MERGE_VARIANT_SETS + "}\n"
    "CALL () {" + MERGE_VARIANTS + "}\n"
    "CALL () {" + JOIN_PLACEHOLDERS + "}\n"
    "RETURN 1 AS stored"
)


def scene_version_stored(tx: neo4j.ManagedTransaction, node_id: str) -> bool:
    record = tx.run(SCENE_VERSION_STORED, nodeId=node_id).single()
    return bool(record and record["stored"])


class PublishedMeanwhile(Exception):
    """The pending version a claim, chunk or clean-up matched was published (or, for a chunk or
    clean-up, taken over) while the write waited for its lock: the transaction must roll back
    (its SET wrote onto a version that is no longer this writer's)."""


def claim_pending_version(tx: neo4j.ManagedTransaction, node_id: str, token: str,
                          now_ms: int, lease_ms: int) -> tuple[bool, int]:
    """(whether this writer now owns the staging, how many prims are staged under it); raises
    PublishedMeanwhile (roll back) when the version was published while the claim waited."""
    record = tx.run(CLAIM_PENDING_VERSION, nodeId=node_id, token=token, nowMs=now_ms,
                    leaseMs=lease_ms).single()
    assert record is not None
    if not record["pending"]:
        raise PublishedMeanwhile(node_id)
    return bool(record["owned"]), int(record["staged"])


def stage_prims(tx: neo4j.ManagedTransaction, node_id: str, token: str, offset: int,
                prims: list[dict[str, Any]], now_ms: int) -> int | None:
    """The staged count after this chunk (``offset + len(prims)`` when it is in); None when
    the pending version is no longer this writer's."""
    record = tx.run(STAGE_PRIMS, nodeId=node_id, token=token, offset=offset,
                    prims=UnloggedRows(prims), nowMs=now_ms).single()
    if record is None:
        return None
    if not record["still"]:
        raise PublishedMeanwhile(node_id)  # taken over or published while this waited
    return int(record["staged"])


def delete_staged(tx: neo4j.ManagedTransaction, node_id: str, token: str, limit: int,
                  now_ms: int) -> int:
    """Delete up to ``limit`` of this writer's staged prims; how many went (0 when the staging
    is not this writer's). Raises PublishedMeanwhile (roll back) when it was taken over or
    published while this waited for its lock."""
    record = tx.run(DELETE_STAGED_PRIMS, nodeId=node_id, token=token, limit=limit,
                    nowMs=now_ms).single()
    if record is None:
        return 0
    if not record["still"]:
        raise PublishedMeanwhile(node_id)
    return int(record["deleted"])


def delete_pending_version(tx: neo4j.ManagedTransaction, node_id: str, token: str) -> None:
    tx.run(DELETE_PENDING_VERSION, nodeId=node_id, token=token).consume()


def _named_in(statement: LiteralString) -> frozenset[str]:
    """The parameters a statement names."""
    return frozenset(re.findall(r"\$(\w+)", statement))


_PUBLISH_PARAMETERS = _named_in(PUBLISH_PENDING_VERSION)
_COMPLETE_PARAMETERS = _named_in(COMPLETE_PUBLISHED_VERSION)


def publish_pending_version(tx: neo4j.ManagedTransaction, params: dict[str, Any],
                            token: str) -> bool:
    """Turn the staged version into the scene version and store the rest of the document;
    False (and nothing written) when the pending version is no longer this writer's or does
    not hold every prim. Each statement is sent only the parameters it names: the document's
    prims (staged already, 100,000 of them in a large scene) would otherwise travel to Neo4j
    twice while the writer holds the sequence lock."""
    record = tx.run(PUBLISH_PENDING_VERSION, unlogged(_only(params, _PUBLISH_PARAMETERS)),
                    token=token, expected=len(params["prims"])).single()
    if not record or int(record["published"]) != 1:
        return False
    tx.run(COMPLETE_PUBLISHED_VERSION, unlogged(_only(params, _COMPLETE_PARAMETERS))).consume()
    return True


def _only(params: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key in names}


STORE_SCENE: LiteralString = (
    "CALL () {" + MERGE_SCENE_VERSION + "}\n"
    "CALL () {" + MERGE_LAYERS + "}\n"
    "CALL () {" + MERGE_ARCS + "}\n"
    "CALL () {" + MERGE_PRIMS + "}\n"
    "CALL () {" + MERGE_VARIANT_SETS + "}\n"
    "CALL () {" + MERGE_VARIANTS + "}\n"
    "CALL () {" + JOIN_PLACEHOLDERS + "}\n"
    "RETURN 1 AS stored"
)


DOCUMENT_OF_SCENE_VERSION: LiteralString = """
MATCH (sv:SceneVersion {nodeId: $nodeId})
RETURN sv.documentSha256 AS documentSha256
"""

OTHER_CONTENTS_OF_VERSION: LiteralString = """
MATCH (:Scene {sceneId: $sceneId})-[:HAS_VERSION]->(sv:SceneVersion {version: $version})
WHERE sv.contentHash <> $contentHash
RETURN sv.contentHash AS contentHash ORDER BY sv.ingestedAt
"""


def store_scene(tx: neo4j.ManagedTransaction, params: dict[str, Any]) -> None:
    tx.run(STORE_SCENE, unlogged(params)).consume()


def document_of_scene_version(tx: neo4j.ManagedTransaction, node_id: str) -> str | None:
    """The sha256 of the document recorded for a scene version; None for none (or no such
    version)."""
    record = tx.run(DOCUMENT_OF_SCENE_VERSION, nodeId=node_id).single()
    return None if record is None else record["documentSha256"]


def other_contents_of_version(tx: neo4j.ManagedTransaction, scene_id: str, version: str,
                              content_hash: str) -> list[str]:
    """Content hashes of the stored versions of a scene that declare the same version string
    as this content but are other content (a ``sceneVersion`` reused after an edit)."""
    return [r["contentHash"] for r in tx.run(OTHER_CONTENTS_OF_VERSION, sceneId=scene_id,
                                             version=version, contentHash=content_hash)]
