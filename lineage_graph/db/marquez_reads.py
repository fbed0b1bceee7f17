"""All Cypher of the Marquez-compatible read API (namespaces, datasets and their versions, jobs,
runs, events, column lineage, Marquez's job-to-job lineage). Each list is one query for the
page and one for its total; each row carries everything its Marquez shape needs (fields,
facets, versions, runs), so a page of N items is two round trips, never N. Each statement has
the typed function that runs it right below."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

from lineage_graph.db.instants import instant, instant_properties, with_instants
from lineage_graph.db.results import Row, collected, column, every_row, first

# A page of some column's values and the total number of rows the question has.
Page = tuple[list[Any], int]

# -- projections --------------------------------------------------------------------------------


def _own_facets(node: LiteralString) -> LiteralString:
    """A subquery giving ``node``'s own facets (not its inputs' or outputs') as ``facets``."""
    return ("CALL (" + node + ") {\n  OPTIONAL MATCH (" + node
            + ")-[:HAS_FACET]->(x:Facet {place: ''})\n"
            "  RETURN collect(x {.name, .payload}) AS facets\n}\n")


# Every dataset ``d``, in the order they come, with its fields, own facets, latest version
# (through the (datasetId, createdAt) index, not by reading every version) and column lineage,
# collected in one record (results.collected).
_DATASET: LiteralString = """
CALL (d) {
  OPTIONAL MATCH (d)-[:HAS_FIELD]->(f:Field)
  WITH f ORDER BY f.ordinal, f.name
  RETURN collect(f {.name, .type, .description}) AS fields
}
""" + _own_facets("d") + """OPTIONAL CALL (d) {
  MATCH (v:DatasetVersion) USING INDEX v:DatasetVersion(datasetId, createdAt)
  WHERE v.datasetId = d.nodeId AND v.createdAt IS NOT NULL
  WITH v ORDER BY v.datasetId DESC, v.createdAt DESC LIMIT 1
  RETURN v.version AS currentVersion, v.createdAt AS lastModifiedAt
}
CALL (d) {
  OPTIONAL MATCH (:Job)-[io:READS|WRITES]->(d)
  RETURN min(io.since) AS createdAt, max(io.since) AS touchedAt
}
CALL (d) {
  OPTIONAL MATCH (d)-[:HAS_FIELD]->(out:Field)-[r:DERIVED_FROM]->(in:Field)
                 <-[:HAS_FIELD]-(src:Dataset)
  WITH out, collect({namespace: src.namespace, dataset: src.name, field: in.name,
                     transformations: r.transformations}) AS inputs
  WHERE out IS NOT NULL
  RETURN collect({name: out.name, inputFields: inputs}) AS columnLineage
}
WITH d, fields, facets, currentVersion, lastModifiedAt, createdAt, columnLineage,
     coalesce(lastModifiedAt, touchedAt, createdAt) AS updatedAt
WITH d {.nodeId, .namespace, .name, .description, .sourceName, fields: fields,
        facets: facets, currentVersion: currentVersion,
        lastModifiedAt: """ + instant("lastModifiedAt") + """,
        createdAt: """ + instant("createdAt") + """,
        updatedAt: """ + instant("updatedAt") + """,
        columnLineage: columnLineage} AS dataset
RETURN collect(dataset) AS rows
"""

# The instants of a run Marquez shows, read as integers (db/instants.py) by _RUN and made
# datetimes by _run_row.
_RUN_INSTANTS: tuple[LiteralString, ...] = (
    "startedAt", "endedAt", "firstEventTime", "lastEventTime", "nominalStartTime",
    "nominalEndTime")

# A run ``r`` with its job, own facets and the dataset versions it read and wrote.
_RUN: LiteralString = """
""" + _own_facets("r") + """CALL (r) {
  OPTIONAL MATCH (r)-[:READ_VERSION]->(v:DatasetVersion)-[:VERSION_OF]->(d:Dataset)
  RETURN collect(CASE WHEN v IS NOT NULL
                 THEN {namespace: d.namespace, name: d.name, version: v.version} END) AS inputs
}
CALL (r) {
  OPTIONAL MATCH (r)-[:WROTE_VERSION]->(v:DatasetVersion)-[:VERSION_OF]->(d:Dataset)
  RETURN collect(CASE WHEN v IS NOT NULL
                 THEN {namespace: d.namespace, name: d.name, version: v.version} END) AS outputs
}
RETURN r {.runId, .state, """ + instant_properties("r", _RUN_INSTANTS) + """,
          facets: facets, inputs: inputs, outputs: outputs} AS run
"""

# Every job ``j``, in the order they come (each part a subquery per job: no aggregation over
# the jobs), with its inputs, outputs, own facets, its $latestRuns latest runs (read in (jobId,
# startedAt) index order: ORDER BY names both keys) and the span of its runs' events (kept on
# the job), collected in one record: nothing here reads all of a job's runs, however many it
# has. The index hints (here and wherever these two composite indexes serve) are needed: going
# by statistics, the planner sometimes prefers scanning every run's startedAt
# (tests/test_history_bounded.py).
_JOB: LiteralString = """
CALL (j) {
  OPTIONAL MATCH (j)-[:READS]->(i:Dataset)
  WITH i ORDER BY i.nodeId
  RETURN collect(i {.namespace, .name}) AS inputs
}
CALL (j) {
  OPTIONAL MATCH (j)-[:WRITES]->(o:Dataset)
  WITH o ORDER BY o.nodeId
  RETURN collect(o {.namespace, .name}) AS outputs
}
""" + _own_facets("j") + """CALL (j) {
  OPTIONAL CALL (j) {
    MATCH (r:Run) USING INDEX r:Run(jobId, startedAt)
    WHERE r.jobId = j.nodeId AND r.startedAt IS NOT NULL
    WITH r ORDER BY r.jobId DESC, r.startedAt DESC LIMIT $latestRuns
    """ + _RUN + """
  }
  RETURN [x IN collect(run) WHERE x.runId IS NOT NULL] AS latestRuns
}
WITH j {.nodeId, .namespace, .name, .description, .processingType, inputs: inputs,
        outputs: outputs, facets: facets, createdAt: """ + instant("j.firstRunEventTime") + """,
        updatedAt: """ + instant("j.lastRunEventTime") + """, latestRuns: latestRuns} AS job
RETURN collect(job) AS rows
"""

# The instants each other projection returns (db/instants.py), made datetimes by its row
# mapper.
_DATASET_INSTANTS = ("createdAt", "updatedAt", "lastModifiedAt")
_JOB_INSTANTS = ("createdAt", "updatedAt")
_VERSION_INSTANTS = ("createdAt",)


def _dataset_row(row: Row) -> Row:
    return with_instants(row, _DATASET_INSTANTS)


def _run_row(row: Row) -> Row:
    return with_instants(row, _RUN_INSTANTS)


def _job_row(row: Row) -> Row:
    for run_row in row["latestRuns"]:
        _run_row(run_row)
    return with_instants(row, _JOB_INSTANTS)


def _version_row(row: Row) -> Row:
    if row["run"] is not None:
        _run_row(row["run"])
    return with_instants(row, _VERSION_INSTANTS)


# -- namespaces ---------------------------------------------------------------------------------

NAMESPACES: LiteralString = """
MATCH (n:Namespace)
WITH n.name AS name ORDER BY name SKIP $offset LIMIT $limit
RETURN collect(name) AS rows
"""

NAMESPACE: LiteralString = """
MATCH (n:Namespace {key: $key}) RETURN n.name AS name
"""


def namespace_names(tx: neo4j.ManagedTransaction, limit: int, offset: int) -> list[str]:
    return collected(tx, NAMESPACES, limit=limit, offset=offset)


def namespace_name(tx: neo4j.ManagedTransaction, key: str) -> str | None:
    """The name of the namespace with this key (namespace_key), or None."""
    found: str | None = first(tx, NAMESPACE, "name", key=key)
    return found


# -- datasets -----------------------------------------------------------------------------------

DATASETS: LiteralString = """
MATCH (:Namespace {key: $key})-[:HAS_DATASET]->(d:Dataset)
WITH d ORDER BY d.name SKIP $offset LIMIT $limit
""" + _DATASET

DATASET_COUNT: LiteralString = """
MATCH (:Namespace {key: $key})-[:HAS_DATASET]->(d:Dataset) RETURN count(d) AS n
"""


def datasets_page(tx: neo4j.ManagedTransaction, key: str, limit: int,
                  offset: int) -> Page:
    """A namespace's datasets by name, and how many it has."""
    return ([_dataset_row(row) for row in collected(tx, DATASETS, key=key, limit=limit,
                                                    offset=offset)],
            int(first(tx, DATASET_COUNT, "n", key=key)))


# Datasets by id (one for a dataset's own page, the answer's datasets for the lineage).
DATASETS_BY_ID: LiteralString = """
UNWIND $nodeIds AS id
MATCH (d:Dataset {nodeId: id})
""" + _DATASET


def datasets_by_id(tx: neo4j.ManagedTransaction, node_ids: list[str]) -> list[Row]:
    return [_dataset_row(row) for row in collected(tx, DATASETS_BY_ID, nodeIds=node_ids)]


# A dataset version ``v`` with the run that wrote it.
_VERSION: LiteralString = """
OPTIONAL MATCH (writer:Run)-[:WROTE_VERSION]->(v)
WITH v, head(collect(writer)) AS r
CALL (r) {
  """ + _RUN + """
}
RETURN v {.version, createdAt: """ + instant("v.createdAt") + """, run: run} AS version
"""

DATASET_VERSIONS: LiteralString = """
MATCH (v:DatasetVersion)-[:VERSION_OF]->(:Dataset {nodeId: $nodeId})
WITH v ORDER BY v.createdAt DESC, v.version SKIP $offset LIMIT $limit
CALL (v) {""" + _VERSION + """}
RETURN collect(version) AS rows
"""

DATASET_VERSION_COUNT: LiteralString = """
MATCH (v:DatasetVersion)-[:VERSION_OF]->(:Dataset {nodeId: $nodeId}) RETURN count(v) AS n
"""


def dataset_versions_page(tx: neo4j.ManagedTransaction, node_id: str, limit: int,
                          offset: int) -> Page:
    """A dataset's versions, newest first, each with the run that wrote it; and their number."""
    return ([_version_row(row) for row in collected(tx, DATASET_VERSIONS, nodeId=node_id,
                                                    limit=limit, offset=offset)],
            int(first(tx, DATASET_VERSION_COUNT, "n", nodeId=node_id)))


DATASET_VERSION: LiteralString = """
MATCH (v:DatasetVersion {nodeId: $versionId})-[:VERSION_OF]->(:Dataset {nodeId: $nodeId})
""" + _VERSION


def dataset_version(tx: neo4j.ManagedTransaction, node_id: str, version_id: str) -> Row | None:
    found: Row | None = first(tx, DATASET_VERSION, "version", nodeId=node_id,
                              versionId=version_id)
    return None if found is None else _version_row(found)


# -- jobs and runs ------------------------------------------------------------------------------

JOBS: LiteralString = """
MATCH (:Namespace {key: $key})-[:HAS_JOB]->(j:Job)
CALL (j) {
  OPTIONAL MATCH (j)-[:HAS_RUN]->(r:Run) RETURN max(r.lastEventTime) AS touched
}
WITH j ORDER BY touched DESC, j.name SKIP $offset LIMIT $limit
""" + _JOB

JOB_COUNT: LiteralString = """
MATCH (:Namespace {key: $key})-[:HAS_JOB]->(j:Job) RETURN count(j) AS n
"""


def jobs_page(tx: neo4j.ManagedTransaction, key: str, latest_runs: int, limit: int,
              offset: int) -> Page:
    """A namespace's jobs, most recently run first, and how many it has."""
    return ([_job_row(row) for row in collected(tx, JOBS, key=key, latestRuns=latest_runs,
                                                limit=limit, offset=offset)],
            int(first(tx, JOB_COUNT, "n", key=key)))


# Jobs by id (one for a job's own page, the jobs reached for the lineage).
JOBS_BY_ID: LiteralString = """
UNWIND $nodeIds AS id
MATCH (j:Job {nodeId: id})
""" + _JOB


def jobs_by_id(tx: neo4j.ManagedTransaction, node_ids: list[str],
               latest_runs: int) -> list[Row]:
    return [_job_row(row) for row in collected(tx, JOBS_BY_ID, nodeIds=node_ids,
                                               latestRuns=latest_runs)]


RUNS_OF_JOB: LiteralString = """
MATCH (r:Run) USING INDEX r:Run(jobId, startedAt)
WHERE r.jobId = $nodeId AND r.startedAt IS NOT NULL
WITH r ORDER BY r.jobId DESC, r.startedAt DESC, r.runId
SKIP $offset LIMIT $limit
CALL (r) {""" + _RUN + """}
RETURN collect(run) AS rows
"""

# Counted as RUNS_OF_JOB lists them (a run an emitter showed under two jobs is listed under
# the one with the smaller id, Run.jobId), through the same index.
RUN_COUNT: LiteralString = """
MATCH (r:Run) USING INDEX r:Run(jobId, startedAt)
WHERE r.jobId = $nodeId AND r.startedAt IS NOT NULL
RETURN count(r) AS n
"""


def runs_of_job_page(tx: neo4j.ManagedTransaction, node_id: str, limit: int,
                     offset: int) -> Page:
    """A job's runs, latest first, and how many it has."""
    return ([_run_row(row) for row in collected(tx, RUNS_OF_JOB, nodeId=node_id, limit=limit,
                                                offset=offset)],
            int(first(tx, RUN_COUNT, "n", nodeId=node_id)))


RUN: LiteralString = """
MATCH (r:Run {runId: $runId})
""" + _RUN


def run(tx: neo4j.ManagedTransaction, run_id: str) -> Row | None:
    found: Row | None = first(tx, RUN, "run", runId=run_id)
    return None if found is None else _run_row(found)


# -- events -------------------------------------------------------------------------------------


def _events(order: LiteralString) -> LiteralString:
    """OpenLineage events as received, between two times, in ``order`` of eventTime: plain
    ORDER BY on the indexed eventTime, so a page reads its rows in index order."""
    return ("""
MATCH (e:Event)
WHERE e.eventTime >= datetime($after) AND e.eventTime <= datetime($before)
  AND e.recordType = 'openlineage' AND e.raw IS NOT NULL
RETURN e.raw AS raw
ORDER BY e.eventTime """ + order + """
SKIP $offset LIMIT $limit
""")


NEWEST_EVENTS: LiteralString = _events("DESC")
OLDEST_EVENTS: LiteralString = _events("ASC")

EVENT_COUNT: LiteralString = """
MATCH (e:Event {recordType: 'openlineage'})
WHERE e.eventTime >= datetime($after) AND e.eventTime <= datetime($before) AND e.raw IS NOT NULL
RETURN count(e) AS n
"""


def events_page(tx: neo4j.ManagedTransaction, *, after: str, before: str, newest_first: bool,
                limit: int, offset: int) -> Page:
    """Raw OpenLineage events (JSON text) between two instants, and how many there are."""
    events = NEWEST_EVENTS if newest_first else OLDEST_EVENTS
    return (column(tx, events, "raw", after=after, before=before, limit=limit, offset=offset),
            int(first(tx, EVENT_COUNT, "n", after=after, before=before)))


# -- Marquez's lineage: job to job through shared datasets ---------------------------------------

# The job a dataset's lineage starts from: the job that last wrote it, else the one that last
# read it (``until``: the latest event that showed the job-level edge; ``since`` for edges
# written before ``until`` was kept). Read among the dataset's jobs, never its runs.
START_JOB_OF_DATASET: LiteralString = """
MATCH (d:Dataset {nodeId: $nodeId})<-[io:READS|WRITES]-(j:Job)
RETURN j.nodeId AS jobId
ORDER BY CASE type(io) WHEN 'WRITES' THEN 0 ELSE 1 END, coalesce(io.until, io.since) DESC,
         j.nodeId
LIMIT 1
"""


def start_job_of_dataset(tx: neo4j.ManagedTransaction, node_id: str) -> str | None:
    found: str | None = first(tx, START_JOB_OF_DATASET, "jobId", nodeId=node_id)
    return found


# Jobs that share a dataset (read or written) with any job of the frontier. Each dataset is
# expanded once per hop however many frontier jobs touch it (a hub read by thousands of jobs
# costs its degree, not degree x frontier), and a hop returns at most $cap jobs.
NEIGHBOUR_JOBS: LiteralString = """
UNWIND $frontier AS id
MATCH (:Job {nodeId: id})-[:READS|WRITES]->(d:Dataset)
WITH DISTINCT d
MATCH (d)<-[:READS|WRITES]-(other:Job)
WITH DISTINCT other.nodeId AS jobId LIMIT $cap
RETURN collect(jobId) AS rows
"""


def neighbour_jobs(tx: neo4j.ManagedTransaction, frontier: list[str], cap: int) -> list[str]:
    return collected(tx, NEIGHBOUR_JOBS, frontier=frontier, cap=cap)


# -- column lineage -----------------------------------------------------------------------------

FIELDS_OF_DATASET: LiteralString = """
MATCH (:Dataset {nodeId: $nodeId})-[:HAS_FIELD]->(f:Field) RETURN f.fieldId AS fieldId
"""


def field_ids_of_dataset(tx: neo4j.ManagedTransaction, node_id: str) -> list[str]:
    return column(tx, FIELDS_OF_DATASET, "fieldId", nodeId=node_id)


FIELD_OF_DATASET: LiteralString = """
MATCH (:Dataset {nodeId: $nodeId})-[:HAS_FIELD]->(f:Field {name: $field})
RETURN f.fieldId AS fieldId
"""


def field_id_of_dataset(tx: neo4j.ManagedTransaction, node_id: str, field: str) -> list[str]:
    """The field's id in a list (empty when the dataset has no such field)."""
    return column(tx, FIELD_OF_DATASET, "fieldId", nodeId=node_id, field=field)


FIELDS_OF_JOB_OUTPUTS: LiteralString = """
MATCH (:Job {nodeId: $nodeId})-[:WRITES]->(:Dataset)-[:HAS_FIELD]->(f:Field)
RETURN f.fieldId AS fieldId
"""


def field_ids_of_job_outputs(tx: neo4j.ManagedTransaction, node_id: str) -> list[str]:
    return column(tx, FIELDS_OF_JOB_OUTPUTS, "fieldId", nodeId=node_id)


# One hop of column lineage from a frontier of fields: the edges (output field <- input field)
# whose output is in the frontier (upstream), and, when asked, whose input is (downstream).
COLUMN_LINEAGE_HOP: LiteralString = """
UNWIND $frontier AS id
MATCH (f:Field {fieldId: id})
CALL (f) {
  MATCH (f)-[r:DERIVED_FROM]->(in:Field) RETURN f AS out, r, in
  UNION
  MATCH (out:Field)-[r:DERIVED_FROM]->(f) WHERE $downstream RETURN out, r, f AS in
}
MATCH (od:Dataset)-[:HAS_FIELD]->(out)
MATCH (idd:Dataset)-[:HAS_FIELD]->(in)
RETURN out.fieldId AS outId, in.fieldId AS inId, r.transformations AS transformations,
       out {.name, .type, namespace: od.namespace, dataset: od.name} AS outField,
       in {.name, .type, namespace: idd.namespace, dataset: idd.name} AS inField
"""


def column_lineage_hop(tx: neo4j.ManagedTransaction, frontier: list[str],
                       downstream: bool) -> list[Row]:
    """Rows of ``outId``, ``inId``, ``transformations``, ``outField``, ``inField``. A record
    per edge, not one collected list: a hop's edges are not bounded by the answer's field cap
    (the walk refuses an answer past it only after the hop)."""
    return every_row(tx, COLUMN_LINEAGE_HOP, frontier=frontier, downstream=downstream)
