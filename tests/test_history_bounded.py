"""Work that must grow with the answer, not with the history: a job with hundreds of runs, a
dataset read by as many and written as many times. Each read is PROFILEd against the real
Neo4j and no operator of its plan may handle more rows than the answer needs (plans, not
timings: a query that reads every run of the job shows it in its row counts). The ingest side:
a new version re-resolves only the readers it can change, including on a hub."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, LiteralString

import neo4j
import pytest

from lineage_graph.db import lineage_reads, marquez_reads
from lineage_graph.db.connection import Database
from lineage_graph.db.lineage_writes import RESOLVE_READ_VERSIONS
from lineage_graph.db.migrations import migrate
from lineage_graph.ids import dataset_id, job_id
from lineage_graph.ingest.service import IngestService
from lineage_graph.lineage.service import Direction, LineageService
from lineage_graph.marquez.service import MarquezService
from tests.conftest import query, wipe
from tests.events import T0, ds, run_event

RUNS = 300  # history; every bounded read below handles at most BOUND rows per operator
BOUND = 40
HUB = ("s3://lake", "frames/curated")
TRAIN = job_id("ml", "train")


def _run_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


@pytest.fixture(scope="module")
def history(session_db: Database) -> Database:
    """A curated hub dataset written by `curate`, read by RUNS runs of `train`, each writing a
    checkpoint version that `evaluate` reads."""
    wipe(session_db)
    _write_history(session_db)
    return session_db


def _write_history(db: Database) -> None:
    ingest = IngestService(db, chunk_size=500)
    events = [run_event("COMPLETE", _run_id(100_000), ("ml", "curate"), T0,
                        [ds("s3://lake", "frames/raw")], [ds(*HUB)])]
    events += [run_event("COMPLETE", _run_id(i), ("ml", "train"),
                         T0 + timedelta(minutes=10 + i), [ds(*HUB)],
                         [ds("s3://lake", "checkpoints")]) for i in range(RUNS)]
    events.append(run_event("COMPLETE", _run_id(200_000), ("ml", "evaluate"),
                            T0 + timedelta(days=1), [ds("s3://lake", "checkpoints")],
                            [ds("s3://lake", "metrics")]))
    result = ingest.ingest_raw([(e, None) for e in events])
    assert result.count("accepted") == len(events)


def _busiest_operator(db: Database, cypher: LiteralString, **params: Any) -> tuple[int, str]:
    """The most rows any operator of the query's profiled plan produced (rolled back), and
    that operator."""
    with db.driver.session(database=db.name, default_access_mode=neo4j.WRITE_ACCESS) as session:
        tx = session.begin_transaction()
        try:
            profile = tx.run("PROFILE " + cypher, params).consume().profile
        finally:
            tx.rollback()
    assert profile is not None

    def operators(plan: dict[str, Any]) -> list[tuple[int, str]]:
        args = plan.get("args", {})
        own = (int(args.get("Rows", 0)), f"{plan['operatorType']} {args.get('Details', '')}")
        return [own] + [op for child in plan.get("children", []) for op in operators(child)]

    return max(operators(profile))


def test_the_history_is_there(history: Database) -> None:
    [row] = query(history, "MATCH (:Job {nodeId: $id})-[:HAS_RUN]->(r) RETURN count(r) AS n",
                  id=TRAIN)
    assert row["n"] == RUNS


# Reads that must handle at most BOUND rows per operator around the history.
HISTORY_READS = [
    ("a job with its latest run", marquez_reads.JOBS_BY_ID,
     {"nodeIds": [TRAIN], "latestRuns": 1}),
    ("a job page with its ten latest runs", marquez_reads.JOBS_BY_ID,
     {"nodeIds": [TRAIN], "latestRuns": 10}),
    ("a dataset with its current version", marquez_reads.DATASETS_BY_ID,
     {"nodeIds": [dataset_id("s3://lake", "checkpoints")]}),
    ("a page of a job's runs (Marquez)", marquez_reads.RUNS_OF_JOB,
     {"nodeId": TRAIN, "offset": 0, "limit": 5}),
    ("a page of a job's runs (GraphQL)", lineage_reads.RUNS_OF_JOB,
     {"nodeId": TRAIN, "limit": 5}),
    ("the job Marquez's lineage starts from", marquez_reads.START_JOB_OF_DATASET,
     {"nodeId": dataset_id(*HUB)}),
    ("a job-level lineage hop through the hub and the job", lineage_reads.LINEAGE_HOP_JOB_LEVEL,
     {"frontier": [{"id": dataset_id(*HUB), "up": True}, {"id": dataset_id(*HUB), "up": False},
                   {"id": TRAIN, "up": True}, {"id": TRAIN, "up": False}], "asOf": None,
      "perHop": 11}),
    ("the jobs sharing a dataset with a frontier (Marquez lineage)", marquez_reads.NEIGHBOUR_JOBS,
     {"frontier": [TRAIN, job_id("ml", "curate")], "cap": 11}),
    ("the edges between an answer's nodes", lineage_reads.LINEAGE_EDGES_JOB_LEVEL,
     {"ids": [dataset_id(*HUB), TRAIN, job_id("ml", "curate"),
              dataset_id("s3://lake", "checkpoints")], "asOf": None}),
    ("the readers a new hub version can change, in order", RESOLVE_READ_VERSIONS,
     {"batch": {"versionedDatasets": [{"datasetId": dataset_id(*HUB), "versionIds": ["late"],
                                       "since": (T0 + timedelta(days=2)).isoformat()}],
                "touchedRunIds": []}}),
]


@pytest.mark.parametrize("name, cypher, params", HISTORY_READS)
def test_reads_do_not_grow_with_the_history(history: Database, name: str,
                                            cypher: LiteralString, params: dict[str, Any]
                                            ) -> None:
    rows, operator = _busiest_operator(history, cypher, **params)
    assert rows <= BOUND, f"{name}: {operator}"


def test_answers_around_the_hub_stay_right(history: Database) -> None:
    lineage = LineageService(history, max_depth=20, max_limit=100)
    around = lineage.lineage(dataset_id(*HUB), Direction.BOTH, 10)
    assert set(around.nodes) == {dataset_id("s3://lake", name) for name in (
        "frames/raw", "frames/curated", "checkpoints", "metrics")} | {
        job_id("ml", name) for name in ("curate", "train", "evaluate")}
    marquez = MarquezService(history, lineage, max_depth=20, max_limit=100)
    job = marquez.job("ml", "train")
    assert job["latestRun"]["id"] == _run_id(RUNS - 1)
    assert [r["id"] for r in job["latestRuns"]] == [_run_id(i) for i in
                                                    range(RUNS - 1, RUNS - 11, -1)]
    assert job["createdAt"].startswith("2026-03-01T08:10")  # first train run's event
    runs = marquez.job_runs("ml", "train", limit=3, offset=RUNS - 3)
    assert [r["id"] for r in runs["runs"]] == [_run_id(2), _run_id(1), _run_id(0)]
    assert runs["totalCount"] == RUNS
    checkpoints = marquez.dataset("s3://lake", "checkpoints")
    assert checkpoints["currentVersion"] is not None
    # Marquez's lineage starts from the job that last wrote the hub: curate.
    graph = marquez.lineage(dataset_id(*HUB), 1)["graph"]
    assert job_id("ml", "curate") in {n["id"] for n in graph}


def test_a_late_version_of_a_hub_reaches_exactly_the_readers_started_after_it(
    db: Database, ingest: IngestService
) -> None:
    """Over 100 readers, new versions find their readers through the index on READ's
    (datasetId, startedAt): a version written late (its time between readers) must still be
    linked by every reader that started after it and by none before."""
    readers = 160
    events = [run_event("START", _run_id(i), ("ml", "train"), T0 + timedelta(minutes=i),
                        [ds(*HUB)]) for i in range(readers)]
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == readers
    late = T0 + timedelta(minutes=100, seconds=30)
    assert _readers_of_a_hub_version_written_at(db, ingest, late) == [
        _run_id(i) for i in range(101, readers)]


def test_a_hub_version_dated_in_its_past_reads_its_readers_not_every_later_run(
    db: Database, ingest: IngestService
) -> None:
    """A backfill (or a replay) writes a version of a hub dated before most of the history:
    finding the readers it may re-link costs the hub's readers since that date, not every run
    of any job started since then (the runs' startedAt index read 30,406 runs for one event on
    a 32,000-event graph). PROFILEd like the reads above, then checked for the right answer."""
    readers = 120
    events = [run_event("COMPLETE", _run_id(i), ("ml", "train"), T0 + timedelta(minutes=i),
                        [ds(*HUB)]) for i in range(readers)]
    # A busy other pipeline: 600 runs started after the backfilled date, none reading the hub.
    events += [run_event("COMPLETE", _run_id(10_000 + i), ("etl", "other"),
                         T0 + timedelta(hours=3, minutes=i), [ds("s3://lake", "other")])
               for i in range(600)]
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == len(events)
    backfilled = T0 + timedelta(minutes=110, seconds=30)
    rows, operator = _busiest_operator(db, RESOLVE_READ_VERSIONS, batch={
        "versionedDatasets": [{"datasetId": dataset_id(*HUB), "versionIds": [],
                               "since": backfilled.isoformat()}],
        "touchedRunIds": []})
    assert rows <= BOUND, operator
    assert _readers_of_a_hub_version_written_at(db, ingest, backfilled) == [
        _run_id(i) for i in range(111, readers)]


def _readers_of_a_hub_version_written_at(db: Database, ingest: IngestService,
                                         at: datetime) -> list[str]:
    """`curate` writes a version of the hub at ``at``: the runs that now read it, in order."""
    ingest.ingest_raw([(run_event("COMPLETE", _run_id(100_000), ("ml", "curate"), at,
                                  outputs=[ds(*HUB)]), None)])
    linked = query(db, """
        MATCH (r:Run)-[:READ_VERSION]->(:DatasetVersion {version: $writer})
        RETURN r.runId AS runId ORDER BY runId""", writer=_run_id(100_000))
    return [row["runId"] for row in linked]


def test_a_read_follows_its_runs_start(db: Database, ingest: IngestService) -> None:
    """READ's copy of its run's startedAt moves with it: a COMPLETE first (started at its own
    time), then the run's START, earlier."""
    run = _run_id(1)
    ingest.ingest_raw([(run_event("COMPLETE", run, ("ml", "train"), T0 + timedelta(hours=1),
                                  [ds(*HUB)]), None)])
    ingest.ingest_raw([(run_event("START", run, ("ml", "train"), T0, [ds(*HUB)]), None)])
    assert query(db, """MATCH (r:Run)-[rd:READ]->(d:Dataset)
                        RETURN rd.datasetId = d.nodeId AS dataset,
                               rd.startedAt = r.startedAt AS started,
                               toString(rd.startedAt) AS at""") == [
        {"dataset": True, "started": True, "at": "2026-03-01T08:00:00Z"}]


def test_migrate_fills_what_older_databases_lack(db: Database, ingest: IngestService) -> None:
    events = [run_event("COMPLETE", _run_id(i), ("ml", "train"), T0 + timedelta(hours=i),
                        [ds(*HUB)]) for i in range(3)]
    ingest.ingest_raw([(e, None) for e in events])
    db.write(lambda tx: tx.run("MATCH (r:Run) REMOVE r.jobId").consume())
    db.write(lambda tx: tx.run(
        "MATCH (j:Job) REMOVE j.firstRunEventTime, j.lastRunEventTime").consume())
    db.write(lambda tx: tx.run("MATCH ()-[io:READS]->() REMOVE io.until").consume())
    db.write(lambda tx: tx.run("MATCH ()-[rd:READ]->() REMOVE rd.datasetId, rd.startedAt"
                               ).consume())
    migrate(db)
    assert query(db, "MATCH (r:Run) RETURN r.jobId AS jobId") == [{"jobId": TRAIN}] * 3
    [job] = query(db, """MATCH (j:Job) RETURN toString(j.firstRunEventTime) AS first,
                         toString(j.lastRunEventTime) AS last""")
    assert job == {"first": "2026-03-01T08:00:00Z", "last": "2026-03-01T10:00:00Z"}
    assert query(db, "MATCH ()-[io:READS]->() RETURN toString(io.until) AS until") == [
        {"until": "2026-03-01T10:00:00Z"}]
    assert query(db, """MATCH (r:Run)-[rd:READ]->(d:Dataset)
                        RETURN rd.datasetId = d.nodeId AND rd.startedAt = r.startedAt AS stamped
                        """) == [{"stamped": True}] * 3



def _fan(jobs: int) -> list[dict[str, Any]]:
    """One source read by ``jobs`` jobs, each writing two datasets: an answer of 3 * jobs + 1
    nodes at depth 2."""
    return [run_event("COMPLETE", _run_id(i), ("fan", f"fan_{i:02d}"), T0 + timedelta(minutes=i),
                      [ds("s3://fan", "source", ["id", "x"])],
                      [ds("s3://fan", f"out/{i:02d}/a", ["id", "a"]),
                       ds("s3://fan", f"out/{i:02d}/b", ["id", "b"])]) for i in range(jobs)]


@pytest.mark.parametrize("statement", [lineage_reads.LINEAGE_EDGES_JOB_LEVEL,
                                       lineage_reads.LINEAGE_EDGES_RUN_LEVEL])
def test_an_answers_edges_are_read_from_its_nodes_whatever_the_statistics(
        db: Database, ingest: IngestService, statement: LiteralString) -> None:
    """Planned right after a bulk write into an emptied database (statistics not sampled yet:
    the moment a scan of every lineage node, tested against each answer node, looked cheapest,
    and the plan stayed cached), the edges between an answer's nodes still expand from those
    nodes: no operator handles more rows than the answer has edges, plus one per node."""
    db.write(lambda tx: tx.run("CALL db.clearQueryCaches()").consume())
    jobs = 50
    assert ingest.ingest_raw([(e, None) for e in _fan(jobs)]).count("accepted") == jobs
    ids = [row["id"] for row in query(db, "MATCH (n:Job|Dataset) RETURN n.nodeId AS id")]
    assert len(ids) == 3 * jobs + 1
    rows, operator = _busiest_operator(db, statement, ids=ids, asOf=None)
    assert rows <= 3 * jobs + len(ids), operator


@pytest.mark.parametrize("name, cypher, params", HISTORY_READS)
def test_reads_stay_bounded_when_planned_before_statistics_catch_up(
        db: Database, name: str, cypher: LiteralString, params: dict[str, Any]) -> None:
    """The same reads, each planned right after the history's bulk write into an emptied
    database (query caches cleared, index statistics not sampled yet): a plan chosen then stays
    cached, so it must be bounded too."""
    _write_history(db)
    db.write(lambda tx: tx.run("CALL db.clearQueryCaches()").consume())
    rows, operator = _busiest_operator(db, cypher, **params)
    assert rows <= BOUND, f"{name}: {operator}"
