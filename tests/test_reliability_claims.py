"""What docs/reliability.md states, each as a test that fails when the guarantee breaks: spooled
events are applied in arrival order, new events join a non-empty spool, a chunk applied but not
marked is replayed as duplicates (and changes nothing), the counters count, and a gzip bomb is
refused."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ingest.durable import DurableIngest
from lineage_graph.ingest.service import IngestService
from lineage_graph.ingest.spool import Spool
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.metrics import METRICS
from lineage_graph.openlineage.parse import parse_event
from lineage_graph.settings import Settings
from tests.conftest import LOCAL_BASE_URL, graph_snapshot, query
from tests.events import T0, ds, new_run_id, run_event


def _event(job: str, hour: int = 8) -> dict[str, Any]:
    return run_event("COMPLETE", new_run_id(), ("airflow", job), T0.replace(hour=hour),
                     outputs=[ds("s3://lake", f"out/{job}", ["id"])])


def _jobs_in_sequence(db: Database) -> list[str]:
    rows = query(db, "MATCH (e:Event {recordType: 'openlineage'}) RETURN e.raw AS raw "
                     "ORDER BY e.seq")
    import json

    return [json.loads(r["raw"])["job"]["name"] for r in rows]


def _metric(name: str, **labels: str) -> float:
    return METRICS.registry.get_sample_value(name, labels or None) or 0.0


def test_events_join_a_non_empty_spool_and_are_applied_in_arrival_order(
        db: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = parse_event(_event("first"))
    spool.append([(first.sha256, first.text)])  # accepted while Neo4j was down
    durable = DurableIngest(IngestService(db), spool, db)
    # Neo4j answers again, but the spool is not empty: a new event must wait behind it, or it
    # would be applied before an event that arrived earlier.
    outcome = durable.ingest_one(parse_event(_event("second")))
    assert outcome.status == "spooled"
    assert _jobs_in_sequence(db) == []
    durable.ingest_raw([(_event("third"), None), (_event("fourth"), None)])
    durable.drain(batch=2)
    assert _jobs_in_sequence(db) == ["first", "second", "third", "fourth"]
    assert durable.ingest_one(parse_event(_event("fifth"))).status == "accepted"  # empty again
    assert verify_ledger(db).ok


def test_a_chunk_applied_but_not_marked_is_replayed_as_duplicates(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)
    for job in ("a", "b", "c"):
        parsed = parse_event(_event(job))
        spool.append([(parsed.sha256, parsed.text)])
    durable = DurableIngest(IngestService(db), spool, db)

    def crash(*_: Any) -> None:
        raise RuntimeError("the process died before marking the chunk applied")

    monkeypatch.setattr(spool, "commit", crash)
    with pytest.raises(RuntimeError):
        durable.drain()
    monkeypatch.undo()
    applied = graph_snapshot(db)
    seqs = [r["seq"] for r in query(db, "MATCH (e:Event) RETURN e.seq AS seq ORDER BY seq")]
    again = durable.drain()  # the restarted drain replays the chunk
    assert again is not None and (again.applied, again.duplicates) == (0, 3)
    assert graph_snapshot(db) == applied  # nothing applied twice: no state, version or edge
    assert [r["seq"] for r in query(db, "MATCH (e:Event) RETURN e.seq AS seq ORDER BY seq")
            ] == seqs == [1, 2, 3]
    assert not spool.has_pending() and verify_ledger(db).ok


def test_the_counters_count(client: TestClient, db: Database, neo4j_server: Settings,
                            tmp_path: Path) -> None:
    before = {status: _metric("lineage_graph_events_total", status=status)
              for status in ("accepted", "duplicate", "rejected", "spooled")}
    event = _event("counted")
    assert client.post("/api/v1/lineage", json=event).status_code == 201
    assert client.post("/api/v1/lineage", json=event).json()["status"] == "duplicate"
    assert client.post("/api/v1/lineage", json={"eventType": "START"}).status_code == 422
    errors_before = _metric("lineage_graph_neo4j_errors_total")
    spooled_before = _metric("lineage_graph_events_spooled_total")
    from lineage_graph.web.app import create_app

    nowhere = replace(neo4j_server, neo4j_uri="bolt://127.0.0.1:1", neo4j_password="x",
                      neo4j_retry_seconds=1, spool_dir_override=tmp_path)
    with TestClient(create_app(nowhere), base_url=LOCAL_BASE_URL) as down:
        assert down.post("/api/v1/lineage", json=_event("spooled")).status_code == 202
    after = {status: _metric("lineage_graph_events_total", status=status)
             for status in before}
    assert {s: after[s] - before[s] for s in before} == {
        "accepted": 1, "duplicate": 1, "rejected": 1, "spooled": 1}
    assert _metric("lineage_graph_neo4j_errors_total") == errors_before + 1
    assert _metric("lineage_graph_events_spooled_total") == spooled_before + 1
    exposed = client.get("/metrics").text
    assert 'lineage_graph_events_total{status="rejected"}' in exposed


def test_a_gzip_bomb_is_refused_once_inflated_past_the_limit(db: Database,
                                                             neo4j_server: Settings) -> None:
    from lineage_graph.web.app import create_app

    bomb = gzip.compress(b"[" + b" " * (4 * 1024 * 1024) + b"]")  # 4 MiB of spaces: ~4 KiB sent
    assert len(bomb) < 10_000
    app = create_app(replace(neo4j_server, max_body_bytes=1024 * 1024))
    with TestClient(app, base_url=LOCAL_BASE_URL) as client:
        answer = client.post("/api/v1/lineage/batch", content=bomb, headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert answer.status_code == 413
    assert "inflated body exceeds" in answer.json()["message"]
