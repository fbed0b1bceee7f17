"""Retention (docs/costs.md#retention): old runs go with their facets and the text of their
records; jobs, datasets, versions and models stay; the ledger still verifies, and tells a
pruned record from a tampered one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ingest.projection import check_projection
from lineage_graph.ingest.rebuild import rebuild
from lineage_graph.ingest.service import IngestService
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.settings import Settings
from lineage_graph.usage.retention import apply_retention
from tests.conftest import query
from tests.events import model_training, pipeline
from tests.test_cli import cli

NOW = datetime.now(UTC)


def _history(db: Database) -> None:
    """Three nights of a pipeline 200 days ago, one last night, and a model trained in March
    (its training run is old too)."""
    events = (pipeline(n_runs=3, start=NOW - timedelta(days=200))
              + pipeline(n_runs=1, start=NOW - timedelta(days=1))
              + model_training("v1", "sha256:aaa"))
    result = IngestService(db).ingest_raw([(e, None) for e in events])
    assert result.count("accepted") == len(events)


def _expected_pruned(db: Database, older_than: timedelta, keep: int) -> set[str]:
    """The rule, restated: per job, past its `keep` latest runs, those whose last event is
    before the cutoff, unless they trained or evaluated a model version or are the parent of a
    run still there."""
    runs = query(db, """MATCH (r:Run) RETURN r.runId AS id, r.jobId AS job,
                        r.startedAt AS started, r.lastEventTime AS last,
                        EXISTS { (r)-[:TRAINED|MEASURED|EVALUATED]->() }
                        OR EXISTS { (:Run)-[:CHILD_OF]->(r) } AS kept""")
    cutoff = NOW - older_than
    by_job: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_job.setdefault(run["job"], []).append(run)
    pruned = set()
    for job_runs in by_job.values():
        ordered = sorted(job_runs, key=lambda r: (r["started"].to_native(), r["id"]),
                         reverse=True)
        pruned |= {r["id"] for r in ordered[keep:]
                   if r["last"].to_native() < cutoff and not r["kept"]}
    return pruned


def _counts(db: Database) -> dict[str, int]:
    [row] = query(db, """RETURN COUNT { (:Job) } AS jobs, COUNT { (:Dataset) } AS datasets,
                         COUNT { (:DatasetVersion) } AS versions,
                         COUNT { (:ModelVersion) } AS models, COUNT { (:Run) } AS runs,
                         COUNT { (:Facet) } AS facets,
                         COUNT { (e:Event) WHERE e.raw IS NULL } AS pruned""")
    return dict(row)


def test_old_runs_go_and_everything_they_reached_stays(db: Database,
                                                       neo4j_server: Settings) -> None:
    _history(db)
    expected = _expected_pruned(db, timedelta(days=90), keep=1)
    assert len(expected) == 6  # 3 old nights x 2 stages (their orchestrator run goes later)
    before = _counts(db)
    for age, keep in ((timedelta(hours=1), 0), (timedelta(hours=1), 2), (timedelta(days=90), 3)):
        found = apply_retention(db, age, keep, dry_run=True).runs
        assert found == len(_expected_pruned(db, age, keep)), (age, keep)
    assert [apply_retention(db, timedelta(hours=1), k, dry_run=True).runs for k in (0, 2)] == [
        8, 4]

    dry = apply_retention(db, timedelta(days=90), keep_runs_per_job=1, dry_run=True)
    assert _counts(db) == before and not dry.applied
    assert dry.runs == len(expected) and dry.bytes > 0

    done = apply_retention(db, timedelta(days=90), keep_runs_per_job=1)
    after = _counts(db)
    assert done.applied and (done.runs, done.facets, done.bytes) == (dry.runs, dry.facets,
                                                                     dry.bytes)
    assert done.records == dry.records == after["pruned"] > 0
    assert after["runs"] == before["runs"] - len(expected)
    assert after["facets"] == before["facets"] - done.facets
    assert {k: after[k] for k in ("jobs", "datasets", "versions", "models")} == {
        k: before[k] for k in ("jobs", "datasets", "versions", "models")}
    remaining = {r["id"] for r in query(db, "MATCH (r:Run) RETURN r.runId AS id")}
    assert not remaining & expected
    # The records of pruned runs lost their text, and only they did.
    records = query(db, "MATCH (e:Event {recordType: 'openlineage'}) "
                        "RETURN e.runId AS run, e.raw IS NULL AS pruned, "
                        "e.prunedAt IS NOT NULL AS stamped")
    assert all(r["pruned"] == r["stamped"] == (r["run"] in expected) for r in records)
    assert query(db, "MATCH (f:Facet) WHERE NOT EXISTS { ()-[:HAS_FACET]->(f) } "
                     "RETURN count(f) AS n") == [{"n": 0}]
    # The model's provenance survives: its training run is old but kept.
    assert query(db, "MATCH (r:Run)-[:TRAINED]->(:ModelVersion) RETURN count(r) AS n") == [
        {"n": 1}]

    report = verify_ledger(db)
    assert report.ok and report.pruned == done.records
    assert check_projection(db, full=True).ok
    [retention] = query(db, "MATCH (e:Event {recordType: 'retention'}) RETURN e.raw AS raw")
    change = json.loads(retention["raw"])
    assert (change["runs"], change["prunedRecords"]) == (len(expected), done.records)
    # Its children gone, the old night's orchestrator run goes on the next pass; then nothing.
    assert apply_retention(db, timedelta(days=90), keep_runs_per_job=1).runs == 1
    assert apply_retention(db, timedelta(days=90), keep_runs_per_job=1).runs == 0
    assert verify_ledger(db).ok and check_projection(db, full=True).ok


def test_retention_in_chunks_records_each_chunk_and_keeps_parents_of_kept_runs(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk of runs is pruned with its own retention record, in one transaction: the
    ledger verifies however many chunks ran. A parent whose child is kept (the child is among
    its job's latest) is kept too, so the kept child's record still finds its parent."""
    from lineage_graph.usage import retention

    monkeypatch.setattr(retention, "CHUNK_RUNS", 2)
    _history(db)
    done = apply_retention(db, timedelta(days=90), keep_runs_per_job=3)
    assert done.runs == 2  # the oldest night's two stage runs; the rest are among the latest 3
    assert query(db, "MATCH (e:Event {recordType: 'retention'}) RETURN count(e) AS n") == [
        {"n": 1}]
    apply_retention(db, timedelta(hours=1), keep_runs_per_job=0)
    chunks = query(db, "MATCH (e:Event {recordType: 'retention'}) RETURN count(e) AS n")
    assert chunks[0]["n"] >= 4  # 8 runs in chunks of 2, then their parents
    assert verify_ledger(db).ok and check_projection(db, full=True).ok


def test_the_ledger_tells_pruning_from_tampering(db: Database) -> None:
    """Removing a record's text behind retention's back, even stamped as pruned, fails
    verification at that record; so does pruning a record retention never prunes."""
    _history(db)
    apply_retention(db, timedelta(days=90), keep_runs_per_job=1)
    [kept] = query(db, "MATCH (e:Event {recordType: 'openlineage'}) WHERE e.raw IS NOT NULL "
                       "RETURN e.seq AS seq ORDER BY e.seq LIMIT 1")
    [stamp] = query(db, "MATCH (e:Event) WHERE e.prunedAt IS NOT NULL "
                        "RETURN e.prunedAt.epochMillis AS at LIMIT 1")
    db.write(lambda tx: tx.run("MATCH (e:Event {seq: $seq}) SET e.raw = null, e.prunedAt = "
                               "datetime({epochMillis: $at})", seq=kept["seq"],
                               at=stamp["at"]).consume())
    report = verify_ledger(db)
    assert not report.ok and report.first_bad_sequence is not None
    assert report.first_bad_sequence <= kept["seq"]
    assert "no retention record names them" in (report.reason or "")
    # Stamped at a time no retention ran, it is named on its own.
    db.write(lambda tx: tx.run("MATCH (e:Event {seq: $seq}) SET e.prunedAt = datetime()",
                               seq=kept["seq"]).consume())
    report = verify_ledger(db)
    assert not report.ok and report.first_bad_sequence == kept["seq"]
    assert "there is no retention record of that time" in (report.reason or "")
    db.write(lambda tx: tx.run("MATCH (e:Event {seq: $seq}) SET e.recordType = 'labeling'",
                               seq=kept["seq"]).consume())
    report = verify_ledger(db)
    assert not report.ok and "retention prunes only OpenLineage events" in (report.reason or "")


def test_after_retention_marquez_events_and_rebuild_skip_pruned_records(
        db: Database, client: TestClient) -> None:
    _history(db)
    done = apply_retention(db, timedelta(days=90), keep_runs_per_job=1)
    kept = query(db, "MATCH (e:Event {recordType: 'openlineage'}) WHERE e.raw IS NOT NULL "
                     "RETURN count(e) AS n")[0]["n"]
    listed = client.get("/api/v1/events/lineage", params={"limit": 1000}).json()
    assert listed["totalCount"] == len(listed["events"]) == kept
    runs = query(db, "MATCH (r:Run) RETURN count(r) AS n")
    assert rebuild(db) > 0
    assert query(db, "MATCH (r:Run) RETURN count(r) AS n") == runs  # pruned runs stay gone
    assert verify_ledger(db).pruned == done.records


def test_the_command_dry_runs_applies_and_refuses_a_bad_age(db: Database,
                                                            neo4j_server: Settings) -> None:
    _history(db)
    dry = cli(neo4j_server, "retention", "apply", "--older-than", "90d",
              "--keep-runs-per-job", "1", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["runs"] == 6 and not json.loads(dry.stdout)["applied"]
    assert query(db, "MATCH (e:Event) WHERE e.raw IS NULL RETURN count(e) AS n") == [{"n": 0}]
    done = cli(neo4j_server, "retention", "apply", "--older-than", "12w")
    assert done.returncode == 0, done.stderr
    assert "removed 6 runs" in done.stdout  # keep 0: the same 6, last night's are recent
    verified = cli(neo4j_server, "ledger", "verify", "--full")
    assert verified.returncode == 0, verified.stderr
    assert "(12 pruned by retention), chain intact" in verified.stdout
    for age in ("90 days", "0d", "99999999999d"):
        bad = cli(neo4j_server, "retention", "apply", "--older-than", age)
        assert bad.returncode == 1 and "--older-than must be a positive age" in bad.stderr
