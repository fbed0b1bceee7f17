"""Ingestion semantics, each against the real Neo4j: idempotency, arrival order, unions,
facet merging, dataset versions, parents, column lineage and per-event atomicity."""

from __future__ import annotations

import json
from datetime import timedelta

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from tests.conftest import graph_snapshot, query, wipe
from tests.events import T0, ds, facet, new_run_id, pipeline, run_event

JOB = ("spark", "train_features")


def _ingest(service: IngestService, *events: dict) -> list[str]:
    result = service.ingest_raw([(e, None) for e in events])
    return [o.status for o in result.outcomes]


def _versions_read(db: Database, run_id: str) -> list[dict]:
    """The versions a run read (READ_VERSION), as rows ``{"v": version}``."""
    return query(db, "MATCH (:Run {runId: $id})-[:READ_VERSION]->(v) RETURN v.version AS v",
                 id=run_id)


def _run(db: Database, run_id: str) -> dict:
    [row] = query(db, "MATCH (r:Run {runId: $id}) RETURN r {.*} AS r", id=run_id)
    return row["r"]


def test_exact_duplicates_and_retries_change_nothing(ingest: IngestService, db: Database) -> None:
    events = pipeline(n_runs=2)
    assert set(_ingest(ingest, *events)) == {"accepted"}
    before = graph_snapshot(db)
    record = query(db, "MATCH (e:Event) RETURN count(e) AS n, max(e.seq) AS last")
    assert _ingest(ingest, *events) == ["duplicate"] * len(events)
    # a retry of one event on its own, and a duplicate inside one batch
    assert _ingest(ingest, events[3]) == ["duplicate"]
    assert graph_snapshot(db) == before
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n, max(e.seq) AS last") == record


def test_a_batch_of_recorded_and_new_events_writes_the_new_ones_once(
        ingest: IngestService, db: Database) -> None:
    """The batch's write plan is built before the transaction, for every event; the events the
    record already holds, found under the lock, are left out of it again."""
    events = pipeline(n_runs=2)
    assert set(_ingest(ingest, *events[:3])) == {"accepted"}
    assert _ingest(ingest, *events) == ["duplicate"] * 3 + ["accepted"] * (len(events) - 3)
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n, max(e.seq) AS last") == [
        {"n": len(events), "last": len(events)}]
    mixed = graph_snapshot(db)
    wipe(db)
    assert set(_ingest(ingest, *events)) == {"accepted"}
    assert graph_snapshot(db) == mixed


def test_duplicate_within_one_batch_is_recorded_once(ingest: IngestService, db: Database) -> None:
    event = run_event("START", new_run_id(), JOB, T0)
    assert _ingest(ingest, event, event) == ["accepted", "duplicate"]
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 1}]


def test_later_event_time_wins_among_non_terminal_states(
    ingest: IngestService, db: Database
) -> None:
    rid = new_run_id()
    _ingest(ingest, run_event("RUNNING", rid, JOB, T0 + timedelta(minutes=2)))
    _ingest(ingest, run_event("START", rid, JOB, T0))
    assert _run(db, rid)["state"] == "RUNNING"
    _ingest(ingest, run_event("FAIL", rid, JOB, T0 + timedelta(minutes=3)))
    _ingest(ingest, run_event("COMPLETE", rid, JOB, T0 + timedelta(minutes=1)))
    assert _run(db, rid)["state"] == "FAIL"  # both terminal: the later one wins


def test_inputs_and_outputs_of_a_run_are_unioned(ingest: IngestService, db: Database) -> None:
    rid = new_run_id()
    _ingest(ingest, run_event("START", rid, JOB, T0, inputs=[ds("s3://lake", "a")]))
    _ingest(ingest, run_event("COMPLETE", rid, JOB, T0 + timedelta(minutes=1),
                              inputs=[ds("s3://lake", "b")], outputs=[ds("s3://lake", "out")]))
    reads = query(db, "MATCH (:Run {runId: $id})-[:READ]->(d) RETURN d.name AS n ORDER BY n",
                  id=rid)
    writes = query(db, "MATCH (:Run {runId: $id})-[:WROTE]->(d) RETURN d.name AS n", id=rid)
    assert [r["n"] for r in reads] == ["a", "b"]
    assert [w["n"] for w in writes] == ["out"]
    job_reads = query(db, "MATCH (:Job {name: $n})-[:READS]->(d) RETURN count(d) AS c", n=JOB[1])
    assert job_reads == [{"c": 2}]


def test_facets_merge_per_key_by_event_time(ingest: IngestService, db: Database) -> None:
    rid = new_run_id()
    newer = run_event("COMPLETE", rid, JOB, T0 + timedelta(hours=1), job_facets={
        "sql": facet("SQLJobFacet", query="SELECT 2"),
    })
    older = run_event("START", rid, JOB, T0, job_facets={
        "sql": facet("SQLJobFacet", query="SELECT 1"),
        "documentation": facet("DocumentationJobFacet", description="trains features"),
    })
    _ingest(ingest, newer)
    _ingest(ingest, older)
    [job] = query(db, "MATCH (j:Job {name: $n}) RETURN j.sql AS sql, j.description AS d", n=JOB[1])
    assert job == {"sql": "SELECT 2", "d": "trains features"}
    payloads = query(db, "MATCH (:Job)-[:HAS_FACET]->(f:Facet {name: 'sql'}) RETURN f.payload AS p")
    assert [json.loads(p["p"])["query"] for p in payloads] == ["SELECT 2"]


def test_each_writing_run_creates_a_version_and_readers_link_the_current_one(
    ingest: IngestService, db: Database
) -> None:
    writer1, writer2, reader = new_run_id(), new_run_id(), new_run_id()
    table = ds("s3://lake", "clean.frames")
    w1 = run_event("COMPLETE", writer1, ("spark", "clean"), T0, outputs=[table])
    w2 = run_event("COMPLETE", writer2, ("spark", "clean"), T0 + timedelta(hours=2),
                   outputs=[table])
    r = run_event("START", reader, ("spark", "train"), T0 + timedelta(hours=1), inputs=[table])
    # The reader arrives first and the first writer last: links must still come out right.
    _ingest(ingest, r)
    _ingest(ingest, w2)
    _ingest(ingest, w1)
    versions = query(db, """
        MATCH (v:DatasetVersion)-[:VERSION_OF]->(:Dataset {name: 'clean.frames'})
        RETURN v.version AS version ORDER BY v.createdAt""")
    assert [v["version"] for v in versions] == [writer1, writer2]
    read = _versions_read(db, reader)
    assert read == [{"v": writer1}]


def test_dataset_version_facet_pins_the_version_read(ingest: IngestService, db: Database) -> None:
    reader = new_run_id()
    _ingest(ingest, run_event("COMPLETE", new_run_id(), ("dvc", "export"), T0,
                              outputs=[ds("s3://lake", "labels", version="v7")]))
    _ingest(ingest, run_event("COMPLETE", new_run_id(), ("dvc", "export"), T0 + timedelta(hours=1),
                              outputs=[ds("s3://lake", "labels", version="v8")]))
    _ingest(ingest, run_event("START", reader, ("spark", "train"), T0 + timedelta(hours=2),
                              inputs=[ds("s3://lake", "labels", version="v7")]))
    read = _versions_read(db, reader)
    assert read == [{"v": "v7"}]


def test_a_reader_pinned_to_a_version_links_it_when_the_version_arrives_later(
    ingest: IngestService, db: Database
) -> None:
    reader = new_run_id()
    _ingest(ingest, run_event("START", reader, ("spark", "train"), T0,
                              inputs=[ds("s3://lake", "labels", version="v9")]))
    # v9 is written an hour after the reader started: only the pin can link it.
    _ingest(ingest, run_event("COMPLETE", new_run_id(), ("dvc", "export"),
                              T0 + timedelta(hours=1),
                              outputs=[ds("s3://lake", "labels", version="v9")]))
    read = _versions_read(db, reader)
    assert read == [{"v": "v9"}]


def test_a_version_rewritten_later_leaves_readers_that_started_before_it(
    ingest: IngestService, db: Database
) -> None:
    writer, reader = new_run_id(), new_run_id()
    table = ds("s3://lake", "clean.frames")
    _ingest(ingest, run_event("RUNNING", writer, ("spark", "clean"), T0, outputs=[table]))
    _ingest(ingest, run_event("START", reader, ("spark", "train"), T0 + timedelta(hours=1),
                              inputs=[table]))
    assert _versions_read(db, reader) == [{"v": writer}]
    # The writer's last write lands after the reader started: its version is created then.
    _ingest(ingest, run_event("COMPLETE", writer, ("spark", "clean"), T0 + timedelta(hours=2),
                              outputs=[table]))
    assert _versions_read(db, reader) == []


def test_parent_run_links_child_runs(ingest: IngestService, db: Database) -> None:
    events = pipeline(n_runs=1)
    _ingest(ingest, *events)
    parent_id = events[0]["run"]["runId"]
    children = query(db, "MATCH (c:Run)-[:CHILD_OF]->(:Run {runId: $id}) RETURN count(c) AS n",
                     id=parent_id)
    assert children == [{"n": 2}]
    assert _run(db, parent_id)["state"] == "COMPLETE"


def test_column_lineage_becomes_field_to_field_edges(ingest: IngestService, db: Database) -> None:
    _ingest(ingest, *pipeline(n_runs=1))
    edges = query(db, """
        MATCH (:Dataset {name: 'features.frames'})-[:HAS_FIELD]->(f:Field)-[:DERIVED_FROM]->
              (src:Field)<-[:HAS_FIELD]-(srcDs:Dataset)
        RETURN f.name AS field, srcDs.name AS dataset, src.name AS source ORDER BY field""")
    assert edges == [
        {"field": "frame_id", "dataset": "clean.frames", "source": "frame_id"},
        {"field": "ts", "dataset": "clean.frames", "source": "ts"},
    ]


def test_a_failing_event_leaves_nothing_half_written_and_spares_the_rest(
    ingest: IngestService, db: Database
) -> None:
    # Plant a node that makes the database refuse one event mid-transaction: a Dataset with the
    # same id but without the :LineageNode label, so MERGE tries to create a second one and
    # hits the uniqueness constraint after the event record and its job were already written.
    db.write(lambda tx: tx.run("CREATE (:Dataset {nodeId: 'dataset:s3://lake:poisoned'})").consume())
    good = run_event("COMPLETE", new_run_id(), ("spark", "good_job"), T0,
                     outputs=[ds("s3://lake", "fine")])
    bad_run = new_run_id()
    bad = run_event("COMPLETE", bad_run, ("spark", "bad_job"), T0,
                    outputs=[ds("s3://lake", "poisoned")])
    result = ingest.ingest_raw([(good, None), (bad, None)])
    assert [o.status for o in result.outcomes] == ["accepted", "rejected"]
    assert "refused" in (result.outcomes[1].error or "")
    assert query(db, "MATCH (j:Job {name: 'bad_job'}) RETURN count(j) AS n") == [{"n": 0}]
    assert query(db, "MATCH (r:Run {runId: $id}) RETURN count(r) AS n", id=bad_run) == [{"n": 0}]
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 1}]
    assert query(db, "MATCH (j:Job {name: 'good_job'}) RETURN count(j) AS n") == [{"n": 1}]


def test_rebuild_from_the_event_record_gives_the_same_graph(
    ingest: IngestService, db: Database
) -> None:
    from lineage_graph.ingest.rebuild import rebuild

    _ingest(ingest, *pipeline(n_runs=3))
    before = graph_snapshot(db)
    assert rebuild(db, chunk=4) == len(pipeline(n_runs=3))
    assert graph_snapshot(db) == before


def test_a_batch_reports_progress_chunk_by_chunk_refused_chunks_included(db: Database) -> None:
    """What `lineage-graph ingest` and the importers show: the service chunks the batch itself
    (validating the next chunk while the last is written) and says when each chunk is done."""
    events: list[object] = [run_event("START", new_run_id(), ("a", f"job{i}"), T0)
                            for i in range(8)]
    events[3:6] = [{"eventType": "START"}] * 3  # one whole chunk the validation refuses
    done: list[int] = []
    result = IngestService(db, chunk_size=3).ingest_raw([(e, None) for e in events],
                                                        on_progress=done.append)
    assert done == [3, 3, 2]
    assert [o.status for o in result.outcomes] == (
        ["accepted"] * 3 + ["rejected"] * 3 + ["accepted"] * 2)
