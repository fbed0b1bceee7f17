"""Apply ``schema/constraints.cypher`` (generated from lineage_graph/graph_model.py) and
``schema/extra-indexes.cypher`` idempotently (every statement is IF NOT EXISTS), then fill
properties that newer versions write and older databases lack."""

from __future__ import annotations

from typing import LiteralString

import neo4j

from lineage_graph.db.connection import Database
from lineage_graph.schema_files import cypher_statements, schema_dir

# Generated from the graph model (constraints.cypher), then the hand-written rest.
SCHEMA_FILES = ("constraints.cypher", "extra-indexes.cypher")


def schema_statements() -> list[str]:
    return [statement for name in SCHEMA_FILES for statement in cypher_statements(
        (schema_dir() / name).read_text(encoding="utf-8"))]


# Each statement only touches what is still missing, so a migrated database pays one scan of
# its runs and jobs at start-up. Batched: a large graph never needs one huge transaction.
BACKFILLS: list[LiteralString] = [
    # Run.jobId (written since hub-safe reads): the (jobId, startedAt) index, a job's latest runs.
    """
    MATCH (r:Run) WHERE r.jobId IS NULL
    CALL (r) {
      MATCH (j:Job)-[:HAS_RUN]->(r)
      WITH r, min(j.nodeId) AS jobId
      SET r.jobId = jobId
    } IN TRANSACTIONS OF 10000 ROWS
    """,
    # Job.firstRunEventTime / lastRunEventTime (likewise): a job's span without reading its runs.
    """
    MATCH (j:Job) WHERE j.firstRunEventTime IS NULL AND EXISTS { (j)-[:HAS_RUN]->(:Run) }
    CALL (j) {
      MATCH (j)-[:HAS_RUN]->(r:Run)
      WITH j, min(r.firstEventTime) AS first, max(r.lastEventTime) AS last
      SET j.firstRunEventTime = first, j.lastRunEventTime = last
    } IN TRANSACTIONS OF 1000 ROWS
    """,
    # READ.datasetId / startedAt (written since backfills into a hub stopped scanning every run
    # started since the version): the index finding a dataset's readers since a time.
    """
    MATCH (r:Run)-[rd:READ]->(d:Dataset) WHERE rd.datasetId IS NULL
    CALL (r, rd, d) {
      SET rd.datasetId = d.nodeId, rd.startedAt = r.startedAt
    } IN TRANSACTIONS OF 10000 ROWS
    """,
    # READS/WRITES.until (likewise): the latest event of the job's runs that read/wrote it.
    """
    MATCH (j:Job)-[io:READS|WRITES]->(d:Dataset) WHERE io.until IS NULL
    CALL (j, io, d) {
      OPTIONAL MATCH (d)<-[x:READ|WROTE]-(r:Run)<-[:HAS_RUN]-(j)
      WHERE (type(io) = 'READS') = (type(x) = 'READ')
      WITH io, max(r.lastEventTime) AS last
      SET io.until = coalesce(last, io.since)
    } IN TRANSACTIONS OF 1000 ROWS
    """,
]


def migrate(db: Database) -> int:
    """Create missing constraints and indexes; returns how many statements ran."""
    statements = schema_statements()

    def apply(session: neo4j.Session) -> int:
        for statement in statements:
            # Schema commands cannot share a transaction with data writes: auto-commit each.
            session.run(statement).consume()
        session.run("CALL db.awaitIndexes(300)").consume()
        for backfill in BACKFILLS:
            session.run(backfill).consume()
        return len(statements)

    return db.in_session(apply)
