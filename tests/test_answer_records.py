"""Answers reach Python in a bounded number of records and statements, whatever their size.

The Python driver reads every record with socket reads of its own: a 150-node answer as 150
records cost about 3 ms more than the same answer collected in one record
(docs/benchmarks.md#records-one-per-statement). So each read statement of a lineage walk, its
edges, the Marquez-compatible lineage and list pages sends its answer as one record, and the
number of statements an answer takes does not grow with the answer."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ids import dataset_id
from lineage_graph.ingest.service import IngestService
from tests.conftest import graphql_data
from tests.events import T0, ds, new_run_id, run_event

SOURCE = dataset_id("s3://fan", "source")
LINEAGE = """query($id: ID!, $level: LineageLevel) {
  lineage(nodeId: $id, direction: BOTH, depth: 3, level: $level) {
    nodes { id kind runCount } edges { source target kind } truncated } }"""
IMPACT = """query($id: ID!, $level: LineageLevel!) {
  impact(nodeId: $id, depth: 4, level: $level) {
    nodes { id kind } edges { source target kind } truncated } }"""
DATASET_AND_WRITER = """query {
  dataset(namespace: "s3://fan", name: "history") {
    versions(limit: 50) { version } fields { name } columnLineage { field } }
  job(namespace: "fan", name: "writer") { runs(limit: 50) { id } } }"""

Ask = tuple[str, str, dict[str, Any]]  # (GET path or "graphql", query, parameters)
ASKED: list[tuple[str, Ask]] = [
    ("GraphQL lineage, level JOB", ("graphql", LINEAGE, {"id": SOURCE, "level": "JOB"})),
    ("GraphQL impact, level JOB", ("graphql", IMPACT, {"id": SOURCE, "level": "JOB"})),
    ("GraphQL impact, level VERSION", ("graphql", IMPACT, {"id": SOURCE, "level": "VERSION"})),
    ("REST lineage", ("/api/v1/lineage", "", {"nodeId": SOURCE, "depth": 3})),
    ("REST jobs page", ("/api/v1/namespaces/fan/jobs", "", {"limit": 100})),
    ("REST datasets page", ("/api/v1/namespaces/s3%3A%2F%2Ffan/datasets", "", {"limit": 100})),
]
_WRITES = re.compile(r"\b(MERGE|CREATE|SET|DELETE|REMOVE)\b")
_BACKGROUND_THREADS = frozenset({"write-plan-refresh", "spool-drain"})


def _fan(ingest: IngestService, jobs: int) -> None:
    """One source read by ``jobs`` jobs, each writing two datasets."""
    events = [run_event("COMPLETE", new_run_id(), ("fan", f"job_{i:03d}"),
                        T0 + timedelta(minutes=i), [ds("s3://fan", "source")],
                        [ds("s3://fan", f"out/{i:03d}/a"), ds("s3://fan", f"out/{i:03d}/b")])
              for i in range(jobs)]
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == jobs


@pytest.fixture()
def reads_sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every read statement sent in a managed transaction from now on, with its parameters,
    but for the app's background threads (the plan refresher's and the drainer's checks)."""
    sent: list[tuple[str, dict[str, Any]]] = []
    run = neo4j.ManagedTransaction.run

    def recording_run(self: neo4j.ManagedTransaction, query: Any, parameters: Any = None,
                      **kwargs: Any) -> neo4j.Result:
        background = threading.current_thread().name in _BACKGROUND_THREADS
        if not background and not _WRITES.search(str(query)):
            sent.append((str(query), {**(parameters or {}), **kwargs}))
        return run(self, query, parameters, **kwargs)

    monkeypatch.setattr(neo4j.ManagedTransaction, "run", recording_run)
    return sent


def _ask(client: TestClient, ask: Ask) -> None:
    where, query, params = ask
    if where == "graphql":
        graphql_data(client, query, **params)
    else:
        answer = client.get(where, params=params)
        assert answer.status_code == 200, answer.text


def _records_of(db: Database, sent: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, str]]:
    """Each statement run again with its parameters: how many records it sends."""
    def count(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> int:
        return len(list(tx.run(query, params)))  # type: ignore[arg-type]

    return [(db.read(lambda tx, q=q, p=p: count(tx, q, p)), q) for q, p in sent]


@pytest.mark.parametrize("name,ask", ASKED, ids=[name for name, _ in ASKED])
def test_each_statement_of_an_answer_sends_one_record(
        name: str, ask: Ask, db: Database, ingest: IngestService, client: TestClient,
        reads_sent: list[tuple[str, dict[str, Any]]]) -> None:
    _fan(ingest, 40)
    _ask(client, ask)  # plans cached; the answer below is the one measured
    reads_sent.clear()
    _ask(client, ask)
    assert reads_sent, name
    for records, query in _records_of(db, list(reads_sent)):
        assert records <= 1, f"{name}: {records} records from\n{query}"


@pytest.mark.parametrize("name,ask", ASKED, ids=[name for name, _ in ASKED])
def test_an_answer_takes_as_many_statements_at_any_size(
        name: str, ask: Ask, db: Database, ingest: IngestService, client: TestClient,
        reads_sent: list[tuple[str, dict[str, Any]]]) -> None:
    counts = []
    for jobs in (5, 60):
        _fan(ingest, jobs)
        reads_sent.clear()
        _ask(client, ask)
        counts.append(len(reads_sent))
    assert counts[0] == counts[1], (name, counts)


def test_a_dataset_and_job_page_send_each_list_in_one_record(
        db: Database, ingest: IngestService, client: TestClient,
        reads_sent: list[tuple[str, dict[str, Any]]]) -> None:
    columns = [f"c{i:02d}" for i in range(12)]
    events = [run_event("COMPLETE", new_run_id(), ("fan", "writer"), T0 + timedelta(minutes=i),
                        [ds("s3://fan", "source", fields=["id"])],
                        [ds("s3://fan", "history", fields=columns, version=f"v{i:02d}",
                            lineage={c: [("s3://fan", "source", "id")] for c in columns})])
              for i in range(30)]
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == 30
    reads_sent.clear()
    answer = graphql_data(client, DATASET_AND_WRITER)
    assert (len(answer["dataset"]["versions"]), len(answer["dataset"]["fields"]),
            len(answer["dataset"]["columnLineage"]), len(answer["job"]["runs"])) == (
        30, 12, 12, 30)
    for records, query in _records_of(db, list(reads_sent)):
        assert records <= 1, f"{records} records from\n{query}"
