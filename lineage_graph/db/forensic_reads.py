"""All Cypher of the forensic queries: version-accurate provenance, metrics to compare, scene
variant differences.

"Does run r have a version of dataset d" is asked from the run (``v.datasetId = d.nodeId``),
never as the path ``(r)-->(:DatasetVersion)-[:VERSION_OF]->(d)``, which Neo4j may expand from
d: through every version of a dataset written 100,000 times.

Provenance differs from the lineage walk of lineage_reads: it follows the *versions* a run read
(``READ_VERSION``) and the run that wrote each version (``WROTE_VERSION``), so two model
versions trained by the same job on different data have different provenance. A run's input
without a resolved version falls back to the dataset and every run that wrote it.
"""

from __future__ import annotations

from typing import LiteralString

import neo4j

from lineage_graph.db.kinds import kind_of
from lineage_graph.db.results import Row, collected, every_row, first, one_row

_KIND: LiteralString = kind_of("m")

# The frontier's nodes (lineage nodes and dataset versions) as ``n``.
_FRONTIER_NODES: LiteralString = """
UNWIND $frontier AS id
CALL (id) {
  OPTIONAL MATCH (l:LineageNode {nodeId: id})
  OPTIONAL MATCH (v:DatasetVersion {nodeId: id})
  RETURN coalesce(l, v) AS n
}
WITH n WHERE n IS NOT NULL
"""

# A reached node ``m`` with what reasons and evidence quote: its dataset (for a version) and job
# (for a run).
_WITH_CONTEXT: LiteralString = """
OPTIONAL MATCH (m)-[:VERSION_OF]->(versioned:Dataset)
OPTIONAL MATCH (job:Job)-[:HAS_RUN]->(m)
"""
_NODE_M: LiteralString = """m {
  .nodeId, .namespace, .name, .runId, .version, .selections, .sceneId, .codeDigest,
  .startedAt,
  kind: """ + _KIND + """,
  datasetId: versioned.nodeId, datasetName: versioned.name, datasetNamespace: versioned.namespace,
  jobId: job.nodeId, jobName: job.name, jobNamespace: job.namespace
}"""

# Closes a hop's per-frontier-node CALL over ``n, m, via``: only reached nodes among $within
# (null: any), at most $perHop of them in elementId order, kept with bounded memory (a hub read
# by 100,000 runs costs its expansion inside Neo4j, not 100,000 rows to the walk). Walks take
# nodes in the same order, so a walk stopped at N nodes took the first N of the walk that did
# not (pages line up; lineage/service.py); with $within = an answer's nodes, a hop reads the
# edges between them.
_AT_MOST_PER_NODE: LiteralString = """
  WITH m, via WHERE $within IS NULL OR m.nodeId IN $within
  WITH m, collect(via) AS vias ORDER BY elementId(m) LIMIT $perHop
  UNWIND vias AS via
  RETURN m, via
"""

# ... and the same bound over the whole hop, after the frontier's CALL.
_AT_MOST_PER_HOP: LiteralString = """
WITH m, collect({n: n, via: via}) AS ways ORDER BY elementId(m) LIMIT $perHop
UNWIND ways AS way
WITH way.n AS n, m, way.via AS via
"""


def _version_hop(frontier_as: LiteralString, branches: LiteralString) -> LiteralString:
    """One hop of a version-level walk from every node of the frontier: ``branches`` is a
    UNION of the steps from ``n`` to a reached node ``m``, each naming the relationship it
    followed (``via``); rows of ``eid``, the frontier node as ``frontier_as``, ``via`` and
    ``node``, bounded as _AT_MOST_PER_NODE and _AT_MOST_PER_HOP say."""
    return (_FRONTIER_NODES + "CALL (n) {\nCALL (n) {\n" + branches + "}\n" + _AT_MOST_PER_NODE
            + "\n}\n" + _AT_MOST_PER_HOP + "\n" + _WITH_CONTEXT
            + "\nRETURN collect({eid: elementId(m), " + frontier_as + ": n.nodeId, via: via, "
            "node: " + _NODE_M + "}) AS rows\n")

# A dataset version by id, described as the walk describes the nodes it reaches: a provenance
# root that is not a lineage node (lineageDiff between two versions of a dataset).
DATASET_VERSION_ROOT: LiteralString = """
MATCH (m:DatasetVersion {nodeId: $nodeId})
""" + _WITH_CONTEXT + """
RETURN """ + _NODE_M + """ AS node
"""


def dataset_version_root(tx: neo4j.ManagedTransaction, node_id: str) -> Row | None:
    """The dataset version ``node_id`` in the provenance shape, or None."""
    node: Row | None = first(tx, DATASET_VERSION_ROOT, "node", nodeId=node_id)
    return node


# One upstream hop of provenance from every node of the frontier. Each branch names the
# relationship it followed (``via``), which the evidence paths and reasons quote.
PROVENANCE_HOP: LiteralString = _version_hop("target", """
  MATCH (n:ModelVersion)<-[:TRAINED]-(m:Run) RETURN m, 'TRAINED' AS via
  UNION
  MATCH (n:ModelVersion)-[:DERIVED_FROM_MODEL]->(m:ModelVersion)
  RETURN m, 'DERIVED_FROM_MODEL' AS via
  UNION
  MATCH (n:Run)-[:READ_VERSION]->(m:DatasetVersion) RETURN m, 'READ_VERSION' AS via
  UNION
  MATCH (n:Run)-[:READ]->(m:Dataset)
  WHERE NOT EXISTS { MATCH (n)-[:READ_VERSION]->(v:DatasetVersion) WHERE v.datasetId = m.nodeId }
  RETURN m, 'READ' AS via
  UNION
  // A run that trained a version and measured it (common in MLflow) did not consume it.
  MATCH (n:Run)-[:EVALUATED]->(m:ModelVersion) WHERE NOT (n)-[:TRAINED]->(m)
  RETURN m, 'EVALUATED' AS via
  UNION
  MATCH (n:DatasetVersion)<-[:WROTE_VERSION]-(m:Run) RETURN m, 'WROTE_VERSION' AS via
  UNION
  MATCH (n:DatasetVersion)<-[:PRODUCED_VERSION]-(m:LabelingSession)
  RETURN m, 'PRODUCED_VERSION' AS via
  UNION
  MATCH (n:DatasetVersion)-[:LABELED_WITH]->(m:LabelingSchemaVersion)
  RETURN m, 'LABELED_WITH' AS via
  UNION
  MATCH (n:DatasetVersion)-[:VERSION_OF]->(:Dataset)-[:FROM_SCENE_VARIANT]->(m:SceneVariant)
  RETURN m, 'FROM_SCENE_VARIANT' AS via
  UNION
  MATCH (n:DatasetVersion)-[:VERSION_OF]->(:Dataset)-[:LABELED_WITH]->(m:LabelingSchemaVersion)
  RETURN m, 'LABELED_WITH' AS via
  UNION
  MATCH (n:Dataset)<-[:WROTE]-(m:Run) RETURN m, 'WROTE' AS via
  UNION
  MATCH (n:Dataset)-[:FROM_SCENE_VARIANT]->(m:SceneVariant) RETURN m, 'FROM_SCENE_VARIANT' AS via
  UNION
  MATCH (n:Dataset)-[:LABELED_WITH]->(m:LabelingSchemaVersion) RETURN m, 'LABELED_WITH' AS via
  UNION
  MATCH (n:LabelingSession)-[:LABELS]->(m:Dataset) RETURN m, 'LABELS' AS via
  UNION
  MATCH (n:SceneVariant)<-[:HAS_VARIANT]-(m:SceneVersion) RETURN m, 'HAS_VARIANT' AS via
  UNION
  MATCH (n:Job)-[:READS]->(m:Dataset) RETURN m, 'READS' AS via
""")


def provenance_hop(tx: neo4j.ManagedTransaction, *, frontier: list[str], per_hop: int,
                   within: list[str] | None) -> list[Row]:
    """One upstream hop from ``frontier``: rows of ``eid``, ``target`` (the frontier node),
    ``via`` and ``node`` (what it reached), at most ``per_hop`` reached nodes (every caller
    bounds it: the rows come back as one collected list), only those among ``within`` (None:
    any)."""
    return collected(tx, PROVENANCE_HOP, frontier=frontier, perHop=per_hop, within=within)


# One downstream hop of version-accurate lineage (impact): PROVENANCE_HOP's steps reversed,
# plus a dataset to its versions. ``source`` is the frontier node, ``m`` what it reaches. A
# dataset read without a resolved version reaches its readers directly.
IMPACT_HOP: LiteralString = _version_hop("source", """
  MATCH (n:Run)-[:TRAINED]->(m:ModelVersion) RETURN m, 'TRAINED' AS via
  UNION
  MATCH (n:ModelVersion)<-[:DERIVED_FROM_MODEL]-(m:ModelVersion)
  RETURN m, 'DERIVED_FROM_MODEL' AS via
  UNION
  // An evaluation run reads the dataset that stores models; it evaluated the model version
  // its evaluation facet names, whatever version of that dataset its read resolved to.
  MATCH (n:DatasetVersion)<-[:READ_VERSION]-(m:Run)
  WHERE NOT EXISTS {
    (m)-[:EVALUATED]->(evaluated:ModelVersion)
    WHERE NOT EXISTS { (evaluated)<-[:TRAINED]-(:Run)-[:WROTE_VERSION]->(n) } }
  RETURN m, 'READ_VERSION' AS via
  UNION
  MATCH (n:Dataset)<-[:READ]-(m:Run)
  WHERE NOT EXISTS { MATCH (m)-[:READ_VERSION]->(v:DatasetVersion) WHERE v.datasetId = n.nodeId }
    AND NOT EXISTS { (m)-[:EVALUATED]->(:ModelVersion) }
  RETURN m, 'READ' AS via
  UNION
  MATCH (n:ModelVersion)<-[:EVALUATED]-(m:Run) RETURN m, 'EVALUATED' AS via
  UNION
  MATCH (n:Run)-[:WROTE_VERSION]->(m:DatasetVersion) RETURN m, 'WROTE_VERSION' AS via
  UNION
  MATCH (n:Run)-[:WROTE]->(m:Dataset)
  WHERE NOT EXISTS { MATCH (n)-[:WROTE_VERSION]->(v:DatasetVersion) WHERE v.datasetId = m.nodeId }
  RETURN m, 'WROTE' AS via
  UNION
  MATCH (n:LabelingSession)-[:PRODUCED_VERSION]->(m:DatasetVersion)
  RETURN m, 'PRODUCED_VERSION' AS via
  UNION
  MATCH (n:LabelingSchemaVersion)<-[:LABELED_WITH]-(m) WHERE m:DatasetVersion OR m:Dataset
  RETURN m, 'LABELED_WITH' AS via
  UNION
  MATCH (n:SceneVariant)<-[:FROM_SCENE_VARIANT]-(m:Dataset) RETURN m, 'FROM_SCENE_VARIANT' AS via
  UNION
  MATCH (n:Dataset)<-[:VERSION_OF]-(m:DatasetVersion) RETURN m, 'VERSION_OF' AS via
  UNION
  MATCH (n:Dataset)<-[:LABELS]-(m:LabelingSession) RETURN m, 'LABELS' AS via
  UNION
  MATCH (n:SceneVersion)-[:HAS_VARIANT]->(m:SceneVariant) RETURN m, 'HAS_VARIANT' AS via
""")


def impact_hop(tx: neo4j.ManagedTransaction, *, frontier: list[str], per_hop: int,
               within: list[str] | None) -> list[Row]:
    """One downstream hop from ``frontier``: rows of ``eid``, ``source`` (the frontier node),
    ``via`` and ``node`` (what it reached), bounded as :func:`provenance_hop`."""
    return collected(tx, IMPACT_HOP, frontier=frontier, perHop=per_hop, within=within)


NODE_OR_DATASET_VERSION: LiteralString = """
OPTIONAL MATCH (l:LineageNode {nodeId: $nodeId})
OPTIONAL MATCH (v:DatasetVersion {nodeId: $nodeId})
WITH coalesce(l, v) AS m
WHERE m IS NOT NULL
""" + _WITH_CONTEXT + """
RETURN """ + _NODE_M + """ AS node
"""


def node_or_dataset_version(tx: neo4j.ManagedTransaction, node_id: str) -> Row | None:
    """A lineage node or a dataset version in the provenance shape, or None."""
    node: Row | None = first(tx, NODE_OR_DATASET_VERSION, "node", nodeId=node_id)
    return node


MODEL_VERSION_NODE: LiteralString = """
MATCH (m:ModelVersion {name: $name, version: $version})
RETURN m {.nodeId, .name, .version, .namespace, .digest, kind: 'MODEL_VERSION'} AS node
"""


def model_version_node(tx: neo4j.ManagedTransaction, name: str, version: str) -> Row | None:
    node: Row | None = first(tx, MODEL_VERSION_NODE, "node", name=name, version=version)
    return node


# A model version's metrics of one name; when several evaluation runs measured the same slice,
# the latest run (by start time) wins.
METRICS_BY_SLICE: LiteralString = """
MATCH (:ModelVersion {nodeId: $nodeId})-[:HAS_METRIC]->(x:Metric {name: $metric})
MATCH (r:Run)-[:MEASURED]->(x)
OPTIONAL MATCH (x)-[:FOR_SCENE_VARIANT]->(v:SceneVariant)
WITH x, r, v ORDER BY r.startedAt DESC, r.runId DESC
WITH x.sliceKey AS sliceKey, collect({x: x, v: v})[0] AS latest
RETURN sliceKey, latest.x.value AS value, latest.x.higherIsBetter AS higherIsBetter,
       latest.x.dimensions AS dimensions, latest.v.nodeId AS sceneVariantId,
       latest.v.sceneId AS sceneId, latest.v.selections AS selections
"""


def metrics_by_slice(tx: neo4j.ManagedTransaction, node_id: str, metric: str) -> list[Row]:
    """One row per slice: ``sliceKey``, ``value``, ``higherIsBetter``, ``dimensions``,
    ``sceneVariantId``, ``sceneId``, ``selections``."""
    return every_row(tx, METRICS_BY_SLICE, nodeId=node_id, metric=metric)


METRIC_NAMES: LiteralString = """
MATCH (:ModelVersion {nodeId: $nodeId})-[:HAS_METRIC]->(x:Metric)
RETURN collect(DISTINCT x.name) AS names
"""


def metric_names(tx: neo4j.ManagedTransaction, node_id: str) -> list[str]:
    """The names of a model version's metrics (none: an empty list)."""
    names: list[str] = one_row(tx, METRIC_NAMES, nodeId=node_id)["names"]
    return names


# Rows read by each input of a run, from the input's statistics or data quality facet, so the
# share of training data that came through a suspect can weigh by rows when emitters say them.
INPUT_ROW_COUNTS: LiteralString = """
MATCH (r:Run {runId: $runId})-[:HAS_FACET]->(f:Facet)
WHERE f.place STARTS WITH 'input:' AND f.name IN ['inputStatistics', 'dataQualityMetrics']
RETURN substring(f.place, 6) AS datasetId, f.payload AS payload
"""


def input_row_counts(tx: neo4j.ManagedTransaction, run_id: str) -> list[Row]:
    """Rows of ``datasetId`` and ``payload`` (the facet's JSON) for each input facet."""
    return every_row(tx, INPUT_ROW_COUNTS, runId=run_id)


SCENE_VARIANT: LiteralString = """
MATCH (v:SceneVariant {nodeId: $nodeId})
OPTIONAL MATCH (sv:SceneVersion)-[:HAS_VARIANT]->(v)
RETURN v {.nodeId, .sceneId, .selections, .placeholder, .primCount, .primDetail,
          .primsAdded, .primsRemoved, .primTypeCounts,
          versionNodeId: sv.nodeId, sceneVersion: sv.version} AS variant
"""


def scene_variant(tx: neo4j.ManagedTransaction, node_id: str) -> Row | None:
    variant: Row | None = first(tx, SCENE_VARIANT, "variant", nodeId=node_id)
    return variant


# Prim paths composed in variant a but not in b. A variant's prims are its scene version's
# default composition (HAS_PRIM.inDefault) minus REMOVES_PRIM plus ADDS_PRIM; prims are compared
# by path, so variants of two scene versions compare too.
PRIMS_ONLY_IN_A: LiteralString = """
MATCH (a:SceneVariant {nodeId: $a})<-[:HAS_VARIANT]-(sa:SceneVersion)
MATCH (b:SceneVariant {nodeId: $b})<-[:HAS_VARIANT]-(sb:SceneVersion)
CALL (a, sa) {
  MATCH (sa)-[:HAS_PRIM {inDefault: true}]->(p:Prim)
  WHERE NOT EXISTS { (a)-[:REMOVES_PRIM]->(p) }
  RETURN p.path AS path
  UNION
  MATCH (a)-[:ADDS_PRIM]->(p:Prim) RETURN p.path AS path
}
WITH b, sb, collect(path) AS inA
CALL (b, sb) {
  MATCH (sb)-[:HAS_PRIM {inDefault: true}]->(p:Prim)
  WHERE NOT EXISTS { (b)-[:REMOVES_PRIM]->(p) }
  RETURN p.path AS path
  UNION
  MATCH (b)-[:ADDS_PRIM]->(p:Prim) RETURN p.path AS path
}
WITH inA, collect(path) AS inB
RETURN [p IN inA WHERE NOT p IN inB] AS onlyInA, [p IN inB WHERE NOT p IN inA] AS onlyInB,
       size([p IN inA WHERE p IN inB]) AS common
"""


def prim_diff(tx: neo4j.ManagedTransaction, a: str, b: str) -> Row:
    """``onlyInA`` and ``onlyInB`` (prim paths) and ``common`` (a count) of variants a and b."""
    return one_row(tx, PRIMS_ONLY_IN_A, a=a, b=b)
