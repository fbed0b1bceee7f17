"""All Cypher that reads jobs, runs, datasets and lineage: each statement, named for what it
answers, with the typed function that runs it right below. Rows are plain dicts; the services
shape them for GraphQL and REST."""

from __future__ import annotations

from typing import LiteralString, TypedDict

import neo4j

from lineage_graph.db.instants import instant, instant_properties, with_instants
from lineage_graph.db.kinds import kind_of
from lineage_graph.db.results import Row, collected, every_row, first


class FrontierEntry(TypedDict):
    """A node a walk goes on from, and which way (``up``: upstream)."""

    id: str
    up: bool


# The kind of a lineage node `n`, spliced into the queries below (a constant, not a value).
_KIND_OF_N: LiteralString = kind_of("n")

# A job's runs, summarised as their number (a degree lookup: constant time however many).
_RUN_COUNT_OF_N: LiteralString = "CASE WHEN n:Job THEN COUNT { (n)-[:HAS_RUN]->() } END"

# A run's instants (graph_model.Run's DateTime properties; tests/test_instants.py holds the two
# lists equal), read as integers (db/instants.py): a list of 100 runs carries 800 of them.
RUN_INSTANTS: tuple[LiteralString, ...] = (
    "stateTime", "startedAt", "endedAt", "startEventTime", "firstEventTime", "lastEventTime",
    "nominalStartTime", "nominalEndTime")


def _run(variable: LiteralString) -> LiteralString:
    """Cypher: a run's every property, its instants as integers, and ``kind``."""
    return variable + " {.*, kind: 'RUN', " + instant_properties(variable, RUN_INSTANTS) + "}"


def _run_row(row: Row) -> Row:
    return with_instants(row, RUN_INSTANTS)


# A node by id; a dataset id no dataset has may be another dataset's alias (symlinks facet):
# the dataset it stands for answers (the first by id when several datasets claim the alias).
NODE_BY_ID: LiteralString = """
OPTIONAL MATCH (own:LineageNode {nodeId: $nodeId})
OPTIONAL MATCH (:DatasetAlias {aliasId: $nodeId})-[:ALIAS_OF]->(aliased:Dataset)
WITH own, aliased ORDER BY aliased.nodeId LIMIT 1
WITH coalesce(own, aliased) AS n WHERE n IS NOT NULL
RETURN n {.*, kind: """ + _KIND_OF_N + """, runCount: """ + _RUN_COUNT_OF_N + """} AS node
"""


def node_by_id(tx: neo4j.ManagedTransaction, node_id: str) -> Row | None:
    """A lineage node with its ``kind`` (and a job's ``runCount``), or None."""
    found: Row | None = first(tx, NODE_BY_ID, "node", nodeId=node_id)
    return found


ALIASES_OF_DATASET: LiteralString = """
MATCH (:Dataset {nodeId: $nodeId})<-[:ALIAS_OF]-(a:DatasetAlias)
RETURN a.namespace AS namespace, a.name AS name, a.type AS type
ORDER BY namespace, name
"""


def aliases_of_dataset(tx: neo4j.ManagedTransaction, node_id: str) -> list[Row]:
    """Rows of ``namespace``, ``name``, ``type``."""
    return every_row(tx, ALIASES_OF_DATASET, nodeId=node_id)


RUN_BY_RUN_ID: LiteralString = """
MATCH (n:Run {runId: $runId})
RETURN """ + _run("n") + """ AS node
"""


def run_by_run_id(tx: neo4j.ManagedTransaction, run_id: str) -> Row | None:
    found: Row | None = first(tx, RUN_BY_RUN_ID, "node", runId=run_id)
    return None if found is None else _run_row(found)


FACETS_OF_NODE: LiteralString = """
MATCH (:LineageNode {nodeId: $nodeId})-[:HAS_FACET]->(f:Facet)
WHERE f.place = $place
RETURN f.name AS name, f.payload AS payload, f.malformed AS malformed, f.error AS error,
       f.eventTime AS eventTime
ORDER BY name
"""


def facets_of_node(tx: neo4j.ManagedTransaction, node_id: str, place: str) -> list[Row]:
    """Rows of ``name``, ``payload`` (JSON text), ``malformed``, ``error``, ``eventTime``."""
    return every_row(tx, FACETS_OF_NODE, nodeId=node_id, place=place)


VERSIONS_OF_DATASET: LiteralString = """
MATCH (v:DatasetVersion)-[:VERSION_OF]->(:Dataset {nodeId: $nodeId})
OPTIONAL MATCH (r:Run)-[:WROTE_VERSION]->(v)
WITH v, min(r.runId) AS runId
ORDER BY v.createdAt DESC, v.version DESC
LIMIT $limit
RETURN collect({nodeId: v.nodeId, version: v.version, createdAt: """ + instant("v.createdAt") + """,
                runId: runId}) AS rows
"""


def versions_of_dataset(tx: neo4j.ManagedTransaction, node_id: str, limit: int) -> list[Row]:
    """Rows of ``nodeId``, ``version``, ``createdAt``, ``runId`` (its writer), newest first."""
    return [with_instants(row, ("createdAt",))
            for row in collected(tx, VERSIONS_OF_DATASET, nodeId=node_id, limit=limit)]


FIELDS_OF_DATASET: LiteralString = """
MATCH (:Dataset {nodeId: $nodeId})-[:HAS_FIELD]->(f:Field)
WITH f ORDER BY coalesce(f.ordinal, 2147483647), f.name
LIMIT $limit
RETURN collect(f {.name, .type, .description, .ordinal}) AS rows
"""


def fields_of_dataset(tx: neo4j.ManagedTransaction, node_id: str, limit: int) -> list[Row]:
    """Rows of ``name``, ``type``, ``description``, ``ordinal``, in schema order."""
    return collected(tx, FIELDS_OF_DATASET, nodeId=node_id, limit=limit)


COLUMN_LINEAGE_OF_DATASET: LiteralString = """
MATCH (:Dataset {nodeId: $nodeId})-[:HAS_FIELD]->(f:Field)-[c:DERIVED_FROM]->(src:Field)
MATCH (srcDs:Dataset)-[:HAS_FIELD]->(src)
WITH {field: f.name, namespace: srcDs.namespace, name: srcDs.name, sourceField: src.name,
      transformations: c.transformations} AS row
ORDER BY row.field, row.namespace, row.name, row.sourceField
LIMIT $limit
RETURN collect(row) AS rows
"""


def column_lineage_of_dataset(tx: neo4j.ManagedTransaction, node_id: str,
                              limit: int) -> list[Row]:
    """Rows of ``field``, ``namespace``, ``name``, ``sourceField``, ``transformations``."""
    return collected(tx, COLUMN_LINEAGE_OF_DATASET, nodeId=node_id, limit=limit)


# A job's latest runs in (jobId, startedAt) index order (ORDER BY names both keys, so the
# planner reads the index in order instead of sorting): a job with 100,000 runs costs what
# one with ten does.
RUNS_OF_JOB: LiteralString = """
MATCH (r:Run) USING INDEX r:Run(jobId, startedAt)
WHERE r.jobId = $nodeId AND r.startedAt IS NOT NULL
WITH r ORDER BY r.jobId DESC, r.startedAt DESC, r.runId
LIMIT $limit
RETURN collect(""" + _run("r") + """) AS rows
"""


def runs_of_job(tx: neo4j.ManagedTransaction, node_id: str, limit: int) -> list[Row]:
    """A job's latest runs, newest first."""
    return [_run_row(row) for row in collected(tx, RUNS_OF_JOB, nodeId=node_id, limit=limit)]


JOB_OF_RUN: LiteralString = """
MATCH (j:Job)-[:HAS_RUN]->(:Run {runId: $runId})
RETURN j {.*, kind: 'JOB'} AS node
LIMIT 1
"""


def job_of_run(tx: neo4j.ManagedTransaction, run_id: str) -> Row | None:
    found: Row | None = first(tx, JOB_OF_RUN, "node", runId=run_id)
    return found


PARENT_OF_RUN: LiteralString = """
MATCH (:Run {runId: $runId})-[:CHILD_OF]->(p:Run)
RETURN """ + _run("p") + """ AS node
LIMIT 1
"""


def parent_of_run(tx: neo4j.ManagedTransaction, run_id: str) -> Row | None:
    found: Row | None = first(tx, PARENT_OF_RUN, "node", runId=run_id)
    return None if found is None else _run_row(found)


CHILDREN_OF_RUN: LiteralString = """
MATCH (c:Run)-[:CHILD_OF]->(:Run {runId: $runId})
WITH c ORDER BY c.startedAt, c.runId
LIMIT $limit
RETURN collect(""" + _run("c") + """) AS rows
"""


def children_of_run(tx: neo4j.ManagedTransaction, run_id: str, limit: int) -> list[Row]:
    return [_run_row(row) for row in collected(tx, CHILDREN_OF_RUN, runId=run_id, limit=limit)]



def _datasets_of_run(dataset_rel: LiteralString, version_rel: LiteralString) -> LiteralString:
    """The datasets a run read (or wrote), each with the version it read (or wrote) and that
    version's writer."""
    return ("""
MATCH (r:Run {runId: $runId})-[:""" + dataset_rel + """]->(d:Dataset)
OPTIONAL MATCH (r)-[:""" + version_rel + """]->(v:DatasetVersion)-[:VERSION_OF]->(d)
OPTIONAL MATCH (writer:Run)-[:WROTE_VERSION]->(v)
WITH d, v, min(writer.runId) AS writerId
ORDER BY d.nodeId
LIMIT $limit
RETURN collect({dataset: d {.*, kind: 'DATASET'},
                version: CASE WHEN v IS NULL THEN null
                              ELSE {nodeId: v.nodeId, version: v.version,
                                    createdAt: v.createdAt, runId: writerId} END}) AS rows
""")


INPUTS_OF_RUN: LiteralString = _datasets_of_run("READ", "READ_VERSION")


def inputs_of_run(tx: neo4j.ManagedTransaction, run_id: str, limit: int) -> list[Row]:
    """Rows of ``dataset`` and the ``version`` the run read (None when unknown)."""
    return collected(tx, INPUTS_OF_RUN, runId=run_id, limit=limit)


OUTPUTS_OF_RUN: LiteralString = _datasets_of_run("WROTE", "WROTE_VERSION")


def outputs_of_run(tx: neo4j.ManagedTransaction, run_id: str, limit: int) -> list[Row]:
    """Rows of ``dataset`` and the ``version`` the run wrote (None when unknown)."""
    return collected(tx, OUTPUTS_OF_RUN, runId=run_id, limit=limit)


# (input relationship types, output relationship types) in data-flow terms: an input rel points
# from the consumer to what it consumes, an output rel from the producer to what it produces.
# A scene version produces its scene variants; a dataset rendered from a scene variant
# consumes it.
# A labeling session consumes the dataset it labels and its schema versions, and produces its
# labels dataset.
# A dataset labeled elsewhere (labelingSchema facet) consumes its schema versions.
# A model version consumes the dataset that stores it and its base model; an evaluation run
# consumes the model version it evaluated.
_EXTRA_INPUTS: list[LiteralString] = ["FROM_SCENE_VARIANT", "LABELS", "USES_SCHEMA",
                                      "LABELED_WITH", "STORED_IN", "DERIVED_FROM_MODEL",
                                      "EVALUATED"]
_EXTRA_OUTPUTS: list[LiteralString] = ["HAS_VARIANT", "PRODUCES"]
JOB_LEVEL: tuple[list[LiteralString], list[LiteralString]] = (
    ["READS", *_EXTRA_INPUTS], ["WRITES", *_EXTRA_OUTPUTS])
RUN_LEVEL: tuple[list[LiteralString], list[LiteralString]] = (
    ["READ", *_EXTRA_INPUTS], ["WROTE", *_EXTRA_OUTPUTS])


# A relationship `rel` events up to $asOf showed (or one no event dates: scenes, labeling).
_SHOWN_BY_AS_OF: LiteralString = (
    "($asOf IS NULL OR rel.since IS NULL OR rel.since <= datetime($asOf))")


def _lineage_hop(inputs: list[LiteralString], outputs: list[LiteralString]) -> LiteralString:
    """The nodes one hop of lineage reaches from a frontier of node ids, in data-flow terms.
    Each frontier entry walks one way (``up``: upstream), so both directions of a BOTH walk
    advance in the same round trip. With $asOf, only relationships whose ``since`` (earliest
    eventTime that showed them) is at or before it are followed; relationships without
    ``since`` (scenes, labeling, made by API calls) are always followed.

    The relationship types are written into the pattern, not passed as a list: Neo4j then
    expands only those types of a dense node (a job with 100,000 runs, a dataset read by as
    many) instead of reading every relationship and filtering.

    At most $perHop nodes come back, the first in elementId order (kept per frontier node,
    then over the hop, with bounded memory): a hub read by 100,000 runs sends what a page can
    hold. Walks take nodes in the same order, so a walk that stops at N nodes took the first N
    nodes of the walk that did not (pages line up; lineage/service.py). Edges are read apart,
    for the nodes a walk took (``_lineage_edges``)."""
    into = "|".join(inputs)
    out = "|".join(outputs)
    at = _SHOWN_BY_AS_OF
    return ("""
UNWIND $frontier AS f
MATCH (n:LineageNode {nodeId: f.id})
CALL (n, f) {
  CALL (n, f) {
    WITH n, f WHERE f.up
    MATCH (n)<-[rel:""" + out + """]-(m:LineageNode) WHERE """ + at + """
    RETURN m
    UNION
    WITH n, f WHERE f.up
    MATCH (n)-[rel:""" + into + """]->(m:LineageNode) WHERE """ + at + """
    RETURN m
    UNION
    WITH n, f WHERE NOT f.up
    MATCH (n)-[rel:""" + out + """]->(m:LineageNode) WHERE """ + at + """
    RETURN m
    UNION
    WITH n, f WHERE NOT f.up
    MATCH (n)<-[rel:""" + into + """]-(m:LineageNode) WHERE """ + at + """
    RETURN m
  }
  WITH m ORDER BY elementId(m) LIMIT $perHop
  RETURN m
}
WITH m AS n, collect(DISTINCT f.up) AS ups
ORDER BY elementId(n) LIMIT $perHop
UNWIND ups AS up
RETURN collect({up: up, eid: elementId(n),
                node: n {.nodeId, .namespace, .name, .runId, kind: """ + _KIND_OF_N + """,
                         runCount: """ + _RUN_COUNT_OF_N + """}}) AS rows
""")


def _lineage_edges(inputs: list[LiteralString], outputs: list[LiteralString]) -> LiteralString:
    """Every relationship of a level between two of the nodes $ids (an answer's nodes), as a
    data-flow edge (source, target, kind): read from each relationship's start node, so each
    comes once and a hub's incoming relationships are not read.

    ``m`` has no label on purpose: with ``m:LineageNode`` the planner may find ``m`` by
    scanning the nodeId index and test each against every ``n`` (Expand(Into)), a cost that
    grows with the whole graph; it chose that plan on statistics sampled before a bulk write
    (692,127 db hits instead of 4,473 for a 151-node answer, kept until the plan cache was
    cleared). Without a label there is no index to scan, so each ``n`` expands its own
    relationships. $ids are lineage node ids, so ``m.nodeId IN $ids`` implies the label."""
    into = "|".join(inputs)
    out = "|".join(outputs)
    at = _SHOWN_BY_AS_OF
    return ("""
UNWIND $ids AS id
MATCH (n:LineageNode {nodeId: id})
CALL (n) {
  MATCH (n)-[rel:""" + into + """]->(m) WHERE m.nodeId IN $ids AND """ + at + """
  RETURN m.nodeId AS source, n.nodeId AS target, 'INPUT' AS edgeKind
  UNION
  MATCH (n)-[rel:""" + out + """]->(m) WHERE m.nodeId IN $ids AND """ + at + """
  RETURN n.nodeId AS source, m.nodeId AS target, 'OUTPUT' AS edgeKind
}
RETURN collect([source, target, edgeKind]) AS rows
""")


LINEAGE_HOP_JOB_LEVEL: LiteralString = _lineage_hop(*JOB_LEVEL)
LINEAGE_HOP_RUN_LEVEL: LiteralString = _lineage_hop(*RUN_LEVEL)
LINEAGE_EDGES_JOB_LEVEL: LiteralString = _lineage_edges(*JOB_LEVEL)
LINEAGE_EDGES_RUN_LEVEL: LiteralString = _lineage_edges(*RUN_LEVEL)


def lineage_hop(tx: neo4j.ManagedTransaction, *, run_level: bool,
                frontier: list[FrontierEntry], as_of: str | None, per_hop: int) -> list[Row]:
    """One hop of a JOB- or RUN-level walk: rows of ``up`` (the way it went), ``eid`` (the
    reached node's elementId, the walk order) and ``node``."""
    hop = LINEAGE_HOP_RUN_LEVEL if run_level else LINEAGE_HOP_JOB_LEVEL
    return collected(tx, hop, frontier=frontier, asOf=as_of, perHop=per_hop)


def lineage_edges(tx: neo4j.ManagedTransaction, *, run_level: bool, ids: list[str],
                  as_of: str | None) -> set[tuple[str, str, str]]:
    """The data-flow edges (source, target, INPUT or OUTPUT) of a level between ``ids``."""
    edges = LINEAGE_EDGES_RUN_LEVEL if run_level else LINEAGE_EDGES_JOB_LEVEL
    return {(source, target, kind)
            for source, target, kind in collected(tx, edges, ids=ids, asOf=as_of)}


# Nodes by name, and datasets by any of their aliases (symlinks facet).
SEARCH_NODES: LiteralString = """
CALL () {
  CALL db.index.fulltext.queryNodes('lineage_node_search', $query) YIELD node, score
  RETURN node AS n, score
  UNION
  CALL db.index.fulltext.queryNodes('dataset_alias_search', $query) YIELD node, score
  MATCH (node)-[:ALIAS_OF]->(n:Dataset)
  RETURN n, score
}
WITH n, max(score) AS score
WHERE size($kinds) = 0 OR """ + _KIND_OF_N + """ IN $kinds
WITH n ORDER BY score DESC, n.nodeId
LIMIT $limit
RETURN collect(n {.nodeId, .namespace, .name, .runId, kind: """ + _KIND_OF_N + """}) AS rows
"""


def search_nodes(tx: neo4j.ManagedTransaction, lucene_query: str, kinds: list[str],
                 limit: int) -> list[Row]:
    """Nodes matching a full-text query (names and dataset aliases), best first."""
    return collected(tx, SEARCH_NODES, query=lucene_query, kinds=kinds, limit=limit)


SEARCH_NODES_BY_SUBSTRING: LiteralString = """
CALL () {
  MATCH (n:LineageNode) WHERE n.name CONTAINS $query OR n.namespace CONTAINS $query
  RETURN n
  UNION
  MATCH (a:DatasetAlias)-[:ALIAS_OF]->(n:Dataset)
  WHERE a.name CONTAINS $query OR a.namespace CONTAINS $query
  RETURN n
}
WITH n WHERE size($kinds) = 0 OR """ + _KIND_OF_N + """ IN $kinds
WITH n ORDER BY n.nodeId
LIMIT $limit
RETURN collect(n {.nodeId, .namespace, .name, .runId, kind: """ + _KIND_OF_N + """}) AS rows
"""


def search_nodes_by_substring(tx: neo4j.ManagedTransaction, text: str, kinds: list[str],
                              limit: int) -> list[Row]:
    return collected(tx, SEARCH_NODES_BY_SUBSTRING, query=text, kinds=kinds, limit=limit)
