"""All Cypher that writes OpenLineage events into the graph.

Each statement takes one list of rows and applies it with ``UNWIND``: a batch of events costs a
fixed number of round trips, whatever its size. The merge rules (max by sort key, set union)
are the ones of :mod:`lineage_graph.ingest.plan`, so applying rows is order-independent.

Every row list travels inside one map parameter, ``$batch``. Neo4j caches a plan per statement
and per parameter *types and sizes*: as separate lists, each new combination of empty and
non-empty lists, or of list sizes, made Neo4j plan the whole write statement again (about a
second on a 2-core machine, under the sequence lock, so every writer waited). One map
parameter has one type, so the statement is planned once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, LiteralString

import neo4j

from lineage_graph.db.lineage_rows import PLAN_KEYS, ChainedRecordRow, PlanRows
from lineage_graph.db.parameters import UnloggedMap

# Taking the write lock on the sequence node serializes writers, so sequence numbers are
# gap-free and a concurrent duplicate is seen here, not as a constraint violation later.
LOCK_SEQUENCE_AND_FIND_EXISTING: LiteralString = """
MERGE (s:Sequence {name: 'event'})
ON CREATE SET s.value = 0
SET s.lockedAt = timestamp()
WITH s
CALL () {
  UNWIND $hashes AS h
  MATCH (e:Event {sha256: h})
  RETURN collect({sha256: e.sha256, seq: e.seq}) AS existing
}
RETURN existing, s.value AS base, s.head AS head
"""

# Sequence numbers and chain hashes are computed by the caller under the sequence lock (see
# lineage_graph.ledger.chain): each record carries the previous record's chain hash and its own.
RECORD_EVENTS: LiteralString = """
MATCH (s:Sequence {name: 'event'})
SET s.value = $batch.lastSeq, s.head = $batch.head
WITH s
UNWIND $batch.events AS e
CREATE (ev:Event {
  seq: e.seq, sha256: e.sha256, raw: e.raw, kind: e.kind, eventType: e.eventType,
  eventTime: datetime(e.eventTime), runId: e.runId, warnings: e.warnings,
  recordType: e.recordType, receivedAt: datetime({epochMillis: e.receivedAtMs}),
  keyId: e.keyId, subject: e.subject, prevHash: e.prevHash, chainHash: e.chainHash,
  chainVersion: e.chainVersion
})
RETURN count(ev) AS recorded
"""

MERGE_NAMESPACES: LiteralString = """
UNWIND $batch.namespaces AS row
MERGE (n:Namespace {key: row.key})
ON CREATE SET n.name = row.name
"""


def _merge_named_nodes(rows: LiteralString, label: LiteralString,
                       in_namespace: LiteralString) -> LiteralString:
    """Jobs or datasets (NamedNodeRow), each linked from its namespace."""
    return ("""
UNWIND $batch.""" + rows + """ AS row
MERGE (node:""" + label + """:LineageNode {nodeId: row.nodeId})
ON CREATE SET node.namespace = row.namespace, node.name = row.name
WITH node, row
MATCH (ns:Namespace {key: row.namespaceKey})
MERGE (ns)-[:""" + in_namespace + """]->(node)
""")


MERGE_JOBS: LiteralString = _merge_named_nodes("jobs", "Job", "HAS_JOB")
MERGE_DATASETS: LiteralString = _merge_named_nodes("datasets", "Dataset", "HAS_DATASET")


def _earliest(prop: LiteralString, value: LiteralString) -> LiteralString:
    """A SET item keeping the earlier of ``prop`` and ``value``: a NULL prop takes the value, a
    NULL value keeps the prop, so the result does not depend on the order events arrive in.
    One definition for every time that keeps its earliest (and, below, its latest)."""
    return (prop + " = CASE WHEN " + prop + " IS NULL OR " + value + " < " + prop
            + " THEN " + value + " ELSE " + prop + " END")


def _latest(prop: LiteralString, value: LiteralString) -> LiteralString:
    """A SET item keeping the later of ``prop`` and ``value`` (as _earliest)."""
    return (prop + " = CASE WHEN " + prop + " IS NULL OR " + value + " > " + prop
            + " THEN " + value + " ELSE " + prop + " END")


# Times travel as ISO-8601 strings and become DateTime here: much cheaper for the driver than
# packing Python datetimes.
MERGE_RUNS: LiteralString = """
UNWIND $batch.runs AS row
MERGE (r:Run:LineageNode {runId: row.runId})
ON CREATE SET r.nodeId = row.nodeId
WITH r, row, datetime(row.firstEventTime) AS first, datetime(row.lastEventTime) AS last,
     datetime(row.startEventTime) AS start, datetime(row.stateTime) AS stateTime
SET """ + _earliest("r.firstEventTime", "first") + """,
    """ + _latest("r.lastEventTime", "last") + """,
    """ + _earliest("r.startEventTime", "start") + """
FOREACH (_ IN CASE WHEN row.stateKey IS NOT NULL
                    AND (r.stateKey IS NULL OR row.stateKey > r.stateKey) THEN [1] ELSE [] END |
  SET r.state = row.state, r.stateKey = row.stateKey, r.stateTime = stateTime,
      r.endedAt = CASE WHEN row.terminal THEN stateTime ELSE null END)
SET r.startedAt = coalesce(r.startEventTime, r.firstEventTime)
FOREACH (_ IN CASE WHEN row.codeKey IS NOT NULL
                    AND (r.codeKey IS NULL OR row.codeKey > r.codeKey) THEN [1] ELSE [] END |
  SET r.codeDigest = row.codeDigest, r.codeKey = row.codeKey)
"""

MERGE_RUN_JOBS: LiteralString = """
UNWIND $batch.runJobs AS row
MATCH (j:Job {nodeId: row.jobId}), (r:Run {runId: row.runId})
MERGE (j)-[:HAS_RUN]->(r)
"""

# Every run the batch touched carries its job's id (the index on (jobId, startedAt) finds a
# job's latest runs without reading all of them; a run an emitter showed under two jobs takes
# the smaller id, whatever the arrival order), and each of its jobs widens the span of its runs'
# events (Marquez's job createdAt/updatedAt, read without visiting its runs). After
# MERGE_RUNS and MERGE_RUN_JOBS: the run's times and jobs are current, so the result does not
# depend on how events were batched.
SPAN_JOBS_OF_RUNS: LiteralString = """
UNWIND $batch.runs AS row
MATCH (r:Run {runId: row.runId})<-[:HAS_RUN]-(j:Job)
WITH r, j ORDER BY j.nodeId
WITH r, collect(j) AS jobs
SET r.jobId = jobs[0].nodeId
WITH r, jobs
UNWIND jobs AS j
SET """ + _earliest("j.firstRunEventTime", "r.firstEventTime") + """,
    """ + _latest("j.lastRunEventTime", "r.lastEventTime") + """
"""

MERGE_PARENTS: LiteralString = """
UNWIND $batch.parents AS row
MATCH (child:Run {runId: row.child}), (parent:Run {runId: row.parent})
MERGE (child)-[:CHILD_OF]->(parent)
"""


def _keep_earliest_since(edge: LiteralString) -> LiteralString:
    """``SET <edge>.since`` to the earlier of its value and ``row.since`` (a new edge, whose
    since is NULL, takes ``row.since``): the first time any event showed the edge, for lineage
    asOf, whatever the arrival order. One definition for every edge that keeps it."""
    return "SET " + _earliest(edge + ".since", "datetime(row.since)")


# Job-level edges also keep ``until``, the latest time an event showed them: Marquez's lineage
# starts from the job that last wrote (or read) a dataset, found among the dataset's jobs, not
# among all of its runs (a hub dataset has thousands).
_KEEP_LATEST_UNTIL: LiteralString = "\nSET " + _latest("e.until", "datetime(row.until)") + "\n"

MERGE_JOB_READS: LiteralString = """
UNWIND $batch.jobReads AS row
MATCH (j:Job {nodeId: row.jobId}), (d:Dataset {nodeId: row.datasetId})
MERGE (j)-[e:READS]->(d)
""" + _keep_earliest_since("e") + _KEEP_LATEST_UNTIL

MERGE_JOB_WRITES: LiteralString = """
UNWIND $batch.jobWrites AS row
MATCH (j:Job {nodeId: row.jobId}), (d:Dataset {nodeId: row.datasetId})
MERGE (j)-[e:WRITES]->(d)
""" + _keep_earliest_since("e") + _KEEP_LATEST_UNTIL

MERGE_VERSIONS: LiteralString = """
UNWIND $batch.versions AS row
MERGE (v:DatasetVersion {nodeId: row.nodeId})
ON CREATE SET v.version = row.version, v.datasetId = row.datasetId
WITH v, row, datetime(row.createdAt) AS createdAt
SET """ + _latest("v.createdAt", "createdAt") + """
WITH v, row
MATCH (d:Dataset {nodeId: row.datasetId})
MERGE (v)-[:VERSION_OF]->(d)
"""

MERGE_RUN_READS: LiteralString = """
UNWIND $batch.runReads AS row
MATCH (r:Run {runId: row.runId}), (d:Dataset {nodeId: row.datasetId})
MERGE (r)-[rd:READ]->(d)
""" + _keep_earliest_since("rd") + """
SET rd.pinnedVersion = CASE
      WHEN row.pinnedVersion IS NULL THEN rd.pinnedVersion
      WHEN rd.pinnedVersion IS NULL OR row.pinnedVersion > rd.pinnedVersion
      THEN row.pinnedVersion ELSE rd.pinnedVersion END,
    rd.pinnedVersionId = CASE
      WHEN row.pinnedVersion IS NULL THEN rd.pinnedVersionId
      WHEN rd.pinnedVersionId IS NULL OR row.pinnedVersion >= rd.pinnedVersion
      THEN row.versionId ELSE rd.pinnedVersionId END
"""

# Every READ of a run the batch touched carries its dataset's id and its run's startedAt, after
# MERGE_RUNS and MERGE_RUN_READS (both current, whatever the batching): RESOLVE_READ_VERSIONS
# finds a hub's readers since a time through the index on the two (extra-indexes.cypher).
STAMP_RUN_READS: LiteralString = """
UNWIND $batch.runs AS row
MATCH (r:Run {runId: row.runId})-[rd:READ]->(d:Dataset)
WHERE rd.datasetId IS NULL OR rd.startedAt IS NULL OR rd.startedAt <> r.startedAt
SET rd.datasetId = d.nodeId, rd.startedAt = r.startedAt
"""

MERGE_RUN_WRITES: LiteralString = """
UNWIND $batch.runWrites AS row
MATCH (r:Run {runId: row.runId}), (d:Dataset {nodeId: row.datasetId}),
      (v:DatasetVersion {nodeId: row.versionId})
MERGE (r)-[e:WROTE]->(d)
""" + _keep_earliest_since("e") + """
MERGE (r)-[:WROTE_VERSION]->(v)
"""

MERGE_FACETS: LiteralString = """
UNWIND $batch.facets AS row
MATCH (o:LineageNode {nodeId: row.ownerId})
MERGE (f:Facet {facetId: row.facetId})
ON CREATE SET f.name = row.name, f.place = row.place, f.sortKey = ''
MERGE (o)-[:HAS_FACET]->(f)
WITH o, f, row, CASE WHEN row.place = '' THEN row.name ELSE row.place + '/' + row.name END AS key
WHERE row.sortKey > f.sortKey
SET f.payload = row.payload, f.eventTime = datetime(row.eventTime), f.sortKey = row.sortKey,
    f.malformed = row.malformed, f.error = row.error
// Touch the owner only when there is something to change: owner writes take its lock.
FOREACH (_ IN CASE WHEN size(keys(row.properties)) > 0 THEN [1] ELSE [] END |
  SET o += row.properties)
FOREACH (_ IN CASE WHEN row.malformed OR key IN coalesce(o.malformedFacets, [])
                   THEN [1] ELSE [] END |
  SET o.malformedFacets = [x IN coalesce(o.malformedFacets, []) WHERE x <> key]
                          + CASE WHEN row.malformed THEN [key] ELSE [] END)
"""

MERGE_FIELDS: LiteralString = """
UNWIND $batch.fields AS row
MATCH (d:Dataset {nodeId: row.datasetId})
MERGE (f:Field {fieldId: row.fieldId})
ON CREATE SET f.name = row.name, f.datasetId = row.datasetId, f.sortKey = ''
MERGE (d)-[:HAS_FIELD]->(f)
WITH f, row
WHERE row.sortKey > f.sortKey
SET f.type = row.type, f.description = row.description, f.ordinal = row.ordinal,
    f.sortKey = row.sortKey
"""

# Both fields exist already: the plan adds column-lineage fields to the field rows.
MERGE_COLUMN_LINEAGE: LiteralString = """
UNWIND $batch.columnLineage AS row
MATCH (outputField:Field {fieldId: row.outFieldId}), (inputField:Field {fieldId: row.inFieldId})
MERGE (outputField)-[c:DERIVED_FROM]->(inputField)
SET c.transformations = CASE
      WHEN c.transformations IS NULL OR row.transformations > c.transformations
      THEN row.transformations ELSE c.transformations END
"""

# The scene variant a reference (``ref``: sceneId, version?, contentHash?, full selections,
# name, placeholderId) names, as ``variant``: the stored one when its scene is already ingested
# (the latest matching scene version), else a placeholder that storing the scene joins
# (scene_writes.JOIN_PLACEHOLDERS). Shared by usdScene facets and evaluation slices, so both
# resolve a reference the same way.
_VARIANT_OF_REF: LiteralString = """
CALL (ref) {
  OPTIONAL MATCH (:Scene {sceneId: ref.sceneId})-[:HAS_VERSION]->(sv:SceneVersion)
                 -[:HAS_VARIANT]->(v:SceneVariant {selections: ref.selections})
  WHERE (ref.contentHash IS NULL OR sv.contentHash = ref.contentHash)
    AND (ref.version IS NULL OR sv.version = ref.version)
  RETURN v AS stored
  ORDER BY sv.ingestedAt DESC
  LIMIT 1
}
CALL (ref, stored) {
  WITH ref, stored WHERE stored IS NULL
  MERGE (p:SceneVariant:LineageNode {nodeId: ref.placeholderId})
  ON CREATE SET p.placeholder = true, p.sceneId = ref.sceneId, p.version = ref.version,
                p.contentHash = ref.contentHash, p.selections = ref.selections,
                p.name = ref.name, p.namespace = 'usd'
  RETURN p AS variant
  UNION
  WITH stored WHERE stored IS NOT NULL
  RETURN stored AS variant
}
"""

# Another name of a dataset (symlinks facet): an alias node keyed like a dataset id, so a
# lookup by dataset:NS:NAME can fall back to it. A union: aliases are never removed.
MERGE_ALIASES: LiteralString = """
UNWIND $batch.aliases AS row
MATCH (d:Dataset {nodeId: row.datasetId})
MERGE (a:DatasetAlias {aliasId: row.aliasId})
ON CREATE SET a.namespace = row.namespace, a.name = row.name, a.type = row.type
MERGE (a)-[link:ALIAS_OF]->(d)
""" + _keep_earliest_since("link") + """
"""


def _latest_facet_wins(owner: LiteralString, key: LiteralString) -> LiteralString:
    """Go on with a row only if its facet is at least as late as the one that last set
    ``owner``'s links (``owner.key`` holds that facet's sort key), and record it: the latest
    facet by eventTime decides the links, whatever the arrival order."""
    return ("WITH " + owner + ", row WHERE " + owner + "." + key + " IS NULL OR row.sortKey >= "
            + owner + "." + key + "\nSET " + owner + "." + key + " = row.sortKey\nWITH "
            + owner + ", row\n")


def _unlink(owner: LiteralString, rel: LiteralString, label: LiteralString) -> LiteralString:
    """A unit subquery removing ``owner``'s ``rel`` links to ``label`` nodes, and each such
    node that was a placeholder nothing else links to any more (an older facet named it), so
    the graph does not depend on arrival order."""
    return ("CALL (" + owner + ") {\n  OPTIONAL MATCH (" + owner + ")-[old:" + rel + "]->(prev:"
            + label + ")\n  DELETE old\n"
            "  WITH prev WHERE prev.placeholder AND NOT EXISTS { (prev)--() }\n"
            "  DELETE prev\n}\n")


# A dataset carrying a usdScene facet points at its scene variant (stored or placeholder, see
# _VARIANT_OF_REF). The latest facet by eventTime wins. Either arrival order gives the same graph.
LINK_SCENE_VARIANTS: LiteralString = """
UNWIND $batch.sceneLinks AS row
MATCH (d:Dataset {nodeId: row.datasetId})
""" + _latest_facet_wins("d", "sceneLinkKey") + _unlink(
    "d", "FROM_SCENE_VARIANT", "SceneVariant") + """WITH d, row, row AS ref
""" + _VARIANT_OF_REF + """
MERGE (d)-[link:FROM_SCENE_VARIANT]->(variant)
SET link.since = datetime(row.since)
"""

# An output carrying an mlModel facet holds a model version, produced by the writing run. The
# model version may exist already as a placeholder named by an evaluation facet; MERGE joins it.
# The latest mlModel facet (by eventTime) sets the properties and the tensor set.
# derivedFrom names base models by digest; links are made from whichever side arrives second.
MERGE_MODELS: LiteralString = """
UNWIND $batch.models AS row
MERGE (m:ModelVersion:LineageNode {nodeId: row.nodeId})
ON CREATE SET m.name = row.name, m.version = row.version, m.namespace = 'models'
SET m.placeholder = false
WITH m, row WHERE m.modelKey IS NULL OR row.sortKey >= m.modelKey
SET m.modelKey = row.sortKey, m.digest = row.digest, m.framework = row.framework,
    m.format = row.format, m.derivedFrom = row.derivedFrom,
    m.tensorCount = CASE WHEN row.tensors IS NULL THEN null ELSE size(row.tensors) END
WITH m, row
CALL (m, row) {
  OPTIONAL MATCH (m)-[old:HAS_TENSOR]->(:Tensor)
  DELETE old
}
CALL (m, row) {
  UNWIND coalesce(row.tensors, []) AS t
  MERGE (tensor:Tensor {digest: t.digest})
  MERGE (m)-[:HAS_TENSOR {name: t.name}]->(tensor)
}
CALL (m) {
  MATCH (base:ModelVersion) WHERE base.digest IN m.derivedFrom AND base <> m
  MERGE (m)-[:DERIVED_FROM_MODEL]->(base)
}
CALL (m) {
  MATCH (child:ModelVersion) WHERE m.digest IN child.derivedFrom AND child <> m
  MERGE (child)-[:DERIVED_FROM_MODEL]->(m)
}
"""

MERGE_MODEL_LINKS: LiteralString = """
UNWIND $batch.modelLinks AS row
MATCH (m:ModelVersion {nodeId: row.modelId}), (d:Dataset {nodeId: row.datasetId}),
      (r:Run {runId: row.runId})
MERGE (r)-[:TRAINED]->(m)
MERGE (m)-[stored:STORED_IN]->(d)
""" + _keep_earliest_since("stored") + """
"""

# A dataset carrying a labelingSchema facet was labeled under those schema versions. A version
# not created yet is a placeholder that createLabelingSchema fills when it makes that version
# (same nodeId). The latest facet (by eventTime) decides the set.
LINK_LABELING_SCHEMAS: LiteralString = """
UNWIND $batch.schemaLinks AS row
MATCH (d:Dataset {nodeId: row.datasetId})
""" + _latest_facet_wins("d", "labelingSchemaKey") + _unlink(
    "d", "LABELED_WITH", "LabelingSchemaVersion") + """CALL (d, row) {
  UNWIND row.versions AS ref
  MERGE (v:LabelingSchemaVersion:LineageNode {nodeId: ref.nodeId})
  ON CREATE SET v.name = ref.name, v.version = ref.version, v.namespace = 'labeling',
                v.placeholder = true
  MERGE (d)-[link:LABELED_WITH]->(v)
  SET link.since = datetime(row.since)
}
"""

# A run carrying an evaluation facet evaluated a model version (a placeholder until its mlModel
# facet arrives) and measured metrics. The latest facet (by eventTime) replaces the run's
# metrics; a slice's scene variant resolves as in _VARIANT_OF_REF. Placeholders no longer linked
# from anything (an older facet named them) are deleted, here and in the other link statements,
# so the graph does not depend on arrival order.
MERGE_EVALUATIONS: LiteralString = """
UNWIND $batch.evaluations AS row
MATCH (r:Run {runId: row.runId})
""" + _latest_facet_wins("r", "evaluationKey") + """CALL (r) {
  OPTIONAL MATCH (r)-[:MEASURED]->(old:Metric)
  OPTIONAL MATCH (old)-[:FOR_SCENE_VARIANT]->(v:SceneVariant {placeholder: true})
  DETACH DELETE old
  WITH DISTINCT v WHERE v IS NOT NULL AND NOT EXISTS { (v)--() }
  DELETE v
}
""" + _unlink("r", "EVALUATED", "ModelVersion") + """CALL (r) {
  OPTIONAL MATCH (r)-[old:EVALUATED_ON]->(:Dataset)
  DELETE old
}
MERGE (m:ModelVersion:LineageNode {nodeId: row.modelId})
ON CREATE SET m.name = row.modelName, m.version = row.modelVersion, m.namespace = 'models',
              m.placeholder = true
MERGE (r)-[evaluated:EVALUATED]->(m)
SET evaluated.since = datetime(row.since)
WITH r, row, m
CALL (r, row) {
  WITH r, row WHERE row.datasetId IS NOT NULL
  MATCH (d:Dataset {nodeId: row.datasetId})
  MERGE (r)-[:EVALUATED_ON]->(d)
}
CALL (r, row, m) {
  UNWIND row.metrics AS metric
  CREATE (x:Metric {metricId: metric.metricId, name: metric.name, value: metric.value,
                    higherIsBetter: metric.higherIsBetter, dimensions: metric.dimensions,
                    sliceKey: metric.sliceKey, runId: row.runId, modelId: row.modelId})
  CREATE (r)-[:MEASURED]->(x)
  CREATE (m)-[:HAS_METRIC]->(x)
  WITH x, metric.sceneVariant AS ref WHERE ref IS NOT NULL
  """ + _VARIANT_OF_REF + """
  CREATE (x)-[:FOR_SCENE_VARIANT]->(variant)
}
"""

# Which version a run read: the pinned one (datasetVersion facet) or else the latest version
# created at or before the run started, not counting versions the run wrote itself. Re-run for
# every run this batch touched and every reader a new version can change (below), so
# late-arriving events re-link earlier runs.
RESOLVE_READ_VERSIONS: LiteralString = """
UNWIND $batch.versionedDatasets AS row
MATCH (d:Dataset {nodeId: row.datasetId})
CALL (d, row) {
  // Unpinned readers that started at or after the earliest new version: only they can now
  // pick one of them. A dataset with up to 100 readers expands them all; a hub (more readers
  // over its history) finds them through the index on its READs' (datasetId, startedAt)
  // (STAMP_RUN_READS): its readers since then, not every run started since then, which is
  // most of the history for a version dated in the past (a seek hint: on some statistics the
  // planner would rather expand the hub, or scan the whole index).
  WITH d, row WHERE row.since IS NULL OR COUNT { (d)<-[:READ]-() } <= 100
  MATCH (d)<-[:READ]-(reader:Run)
  WHERE row.since IS NULL OR reader.startedAt >= datetime(row.since)
  RETURN reader
  UNION
  WITH d, row WHERE row.since IS NOT NULL AND COUNT { (d)<-[:READ]-() } > 100
  WITH d.nodeId AS datasetId, datetime(row.since) AS since
  MATCH (reader:Run)-[rd:READ]->() USING INDEX SEEK rd:READ(datasetId, startedAt)
  WHERE rd.datasetId = datasetId AND rd.startedAt >= since
  RETURN reader
  UNION
  // Readers linked to a written version: one whose createdAt just moved later may need an
  // older one, and a reader pinned to it (its placeholder was created at read time) keeps it.
  UNWIND row.versionIds AS vid
  MATCH (v:DatasetVersion {nodeId: vid})<-[:READ_VERSION]-(reader:Run)
  USING INDEX SEEK v:DatasetVersion(nodeId)
  RETURN reader
}
WITH collect(DISTINCT reader.runId) AS readers
UNWIND readers + $batch.touchedRunIds AS rid
WITH DISTINCT rid
// A seek per run (the hint): on some statistics the planner would scan every run's id and join.
MATCH (r:Run {runId: rid})-[rd:READ]->(d:Dataset) USING INDEX SEEK r:Run(runId)
OPTIONAL MATCH (r)-[old:READ_VERSION]->(:DatasetVersion)-[:VERSION_OF]->(d)
DELETE old
WITH DISTINCT r, rd, d
CALL (r, rd, d) {
  WITH r, rd, d WHERE rd.pinnedVersionId IS NOT NULL
  MATCH (v:DatasetVersion {nodeId: rd.pinnedVersionId})-[:VERSION_OF]->(d)
  RETURN v
  UNION
  // The newest version created at or before the run started, read in (datasetId, createdAt)
  // index order (ORDER BY names both keys): a dataset's other versions are not read.
  WITH r, rd, d WHERE rd.pinnedVersionId IS NULL
  MATCH (v:DatasetVersion) USING INDEX v:DatasetVersion(datasetId, createdAt)
  WHERE v.datasetId = d.nodeId AND v.createdAt <= r.startedAt
    AND NOT (r)-[:WROTE_VERSION]->(v)
  WITH v ORDER BY v.datasetId DESC, v.createdAt DESC, v.version DESC LIMIT 1
  RETURN v
}
MERGE (r)-[:READ_VERSION]->(v)
"""

# The whole plan in ONE statement: each block is a unit subquery over its own row list, run in
# this order, so a batch of any size costs one round trip. (Concatenating constant strings: no
# value ever enters the query text; everything is a parameter.)
_APPLY_BLOCKS: LiteralString = (
    "CALL () {" + MERGE_NAMESPACES + "}\n"
    "CALL () {" + MERGE_JOBS + "}\n"
    "CALL () {" + MERGE_DATASETS + "}\n"
    "CALL () {" + MERGE_RUNS + "}\n"
    "CALL () {" + MERGE_RUN_JOBS + "}\n"
    "CALL () {" + SPAN_JOBS_OF_RUNS + "}\n"
    "CALL () {" + MERGE_PARENTS + "}\n"
    "CALL () {" + MERGE_JOB_READS + "}\n"
    "CALL () {" + MERGE_JOB_WRITES + "}\n"
    "CALL () {" + MERGE_VERSIONS + "}\n"
    "CALL () {" + MERGE_RUN_READS + "}\n"
    "CALL () {" + STAMP_RUN_READS + "}\n"
    "CALL () {" + MERGE_RUN_WRITES + "}\n"
    "CALL () {" + MERGE_FACETS + "}\n"
    "CALL () {" + MERGE_FIELDS + "}\n"
    "CALL () {" + MERGE_COLUMN_LINEAGE + "}\n"
    "CALL () {" + LINK_SCENE_VARIANTS + "}\n"
    "CALL () {" + MERGE_ALIASES + "}\n"
    "CALL () {" + MERGE_MODELS + "}\n"
    "CALL () {" + MERGE_MODEL_LINKS + "}\n"
    "CALL () {" + LINK_LABELING_SCHEMAS + "}\n"
    "CALL () {" + MERGE_EVALUATIONS + "}\n"
    "CALL () {" + RESOLVE_READ_VERSIONS + "}\n"
)
APPLY_PLAN: LiteralString = _APPLY_BLOCKS + "RETURN 1 AS applied"
_RECORD_AND_APPLY: LiteralString = _APPLY_BLOCKS + "WITH 1 AS applied\n" + RECORD_EVENTS

# Planning the write statement takes Neo4j about a second on a 2-core machine, and a writer
# runs it holding the sequence lock, so every other writer waits that long. Neo4j replans a
# cached plan when its statistics drift (the graph grows), at the next use: under the lock. So
# writers never replan (``replan=skip`` uses the cached plan, even stale), and
# ``refresh_write_plan`` replans it (``replan=force``, shared with writers' cache entry) with
# EXPLAIN, which executes nothing and takes no lock: ingest.plan_refresh calls it at start and
# as the graph grows. Without a cached plan (Neo4j restarted, cache cleared) a writer plans once.
RECORD_AND_APPLY: LiteralString = "CYPHER replan=skip\n" + _RECORD_AND_APPLY
_REPLAN_RECORD_AND_APPLY: LiteralString = "CYPHER replan=force EXPLAIN\n" + _RECORD_AND_APPLY
# Without replan=force: a cache hit when a plan is cached and fresh (a process started against a
# running Neo4j), a plan made outside the lock when none is (Neo4j just started) or it is stale.
_PLAN_RECORD_AND_APPLY: LiteralString = "EXPLAIN\n" + _RECORD_AND_APPLY


@dataclass(frozen=True)
class SequenceState:
    """What the sequence lock returns: events already recorded (sha256 -> seq), the last
    sequence number and the chain head."""

    existing: dict[str, int]
    base: int
    head: str | None


def lock_and_find_existing(tx: neo4j.ManagedTransaction, hashes: list[str]) -> SequenceState:
    record = tx.run(LOCK_SEQUENCE_AND_FIND_EXISTING, hashes=hashes).single()
    assert record is not None
    return SequenceState(existing={row["sha256"]: row["seq"] for row in record["existing"]},
                         base=int(record["base"]), head=record["head"])


def _plan_batch(plan: PlanRows) -> dict[str, Any]:
    """A plan's row lists, as ``$batch`` of APPLY_PLAN and RECORD_AND_APPLY names them."""
    return {key: plan[key] for key in PLAN_KEYS}  # type: ignore[literal-required]


def _record_batch(records: list[ChainedRecordRow], head: str | None) -> dict[str, Any]:
    """Chained records and the new head, as ``$batch`` of RECORD_EVENTS names them."""
    return {"events": records, "head": head, "lastSeq": records[-1]["seq"] if records else None}


def write_records_and_plan(tx: neo4j.ManagedTransaction, plan: PlanRows,
                           records: list[ChainedRecordRow], head: str) -> dict[str, int]:
    """Append chained records (ledger.append numbers and chains them) and apply their plan:
    one round trip. Returns each record's sequence number by sha256."""
    batch = {**_plan_batch(plan), **_record_batch(records, head)}
    return _recorded(tx.run(RECORD_AND_APPLY, batch=UnloggedMap(batch)), records)


def write_records(tx: neo4j.ManagedTransaction, records: list[ChainedRecordRow],
                  head: str) -> dict[str, int]:
    """Append chained records whose writes the caller made in the same transaction."""
    return _recorded(tx.run(RECORD_EVENTS, batch=UnloggedMap(_record_batch(records, head))),
                     records)


def _recorded(result: neo4j.Result, records: list[ChainedRecordRow]) -> dict[str, int]:
    """Each record's sequence number by sha256, once Neo4j says it created them all: a count
    in one result record, not a result record per event (the driver reads each apart,
    db/results.py)."""
    created = result.single(strict=True)["recorded"]
    if created != len(records):  # CREATE makes one node per row: a broken statement if not
        raise RuntimeError(f"the record statement created {created} of {len(records)} records")
    return {r["sha256"]: r["seq"] for r in records}


def apply_plan(tx: neo4j.ManagedTransaction, plan: PlanRows) -> None:
    """Write every row list of a plan, in one round trip."""
    tx.run(APPLY_PLAN, batch=UnloggedMap(_plan_batch(plan))).consume()


def refresh_write_plan(tx: neo4j.ManagedTransaction, force: bool = True) -> None:
    """Plan the write statement again on current statistics (``force``), or make sure a plan is
    cached, outside the sequence lock (EXPLAIN executes nothing): writers then run that plan.
    Parameter *types* key Neo4j's plan cache, so one map with empty lists stands for every
    batch."""
    batch = {**{key: [] for key in PLAN_KEYS}, **_record_batch([], None)}
    statement = _REPLAN_RECORD_AND_APPLY if force else _PLAN_RECORD_AND_APPLY
    tx.run(statement, batch=batch).consume()
