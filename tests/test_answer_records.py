"""Answers reach Python in a bounded number of records and statements, whatever their size.

The Python driver reads every record with socket reads of its own: a 150-node answer as 150
records cost about 3 ms more than the same answer collected in one record
(docs/benchmarks.md#records-one-per-statement). So each read statement of a lineage walk, its
edges, the Marquez-compatible lineage and list pages sends its answer as one record, and the
number of statements an answer takes does not grow with the answer."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ids import dataset_id
from lineage_graph.ingest.service import IngestService
from tests.conftest import SentStatement, graphql_data
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


def _reads(sent: list[SentStatement]) -> list[SentStatement]:
    """The read statements among those sent, but for the app's background threads (the plan
    refresher's and the drainer's checks)."""
    return [s for s in sent
            if s.thread not in _BACKGROUND_THREADS and not _WRITES.search(s.text)]


def _ask(client: TestClient, ask: Ask) -> None:
    where, query, params = ask
    if where == "graphql":
        graphql_data(client, query, **params)
    else:
        answer = client.get(where, params=params)
        assert answer.status_code == 200, answer.text


def _records_of(db: Database, sent: list[SentStatement]) -> list[tuple[int, str]]:
    """Each statement run again with its parameters: how many records it sends."""
    def count(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> int:
        return len(list(tx.run(query, params)))  # type: ignore[arg-type]

    return [(db.read(lambda tx, s=s: count(tx, s.text, s.arguments)), s.text) for s in _reads(sent)]


@pytest.mark.parametrize("name,ask", ASKED, ids=[name for name, _ in ASKED])
def test_each_statement_of_an_answer_sends_one_record(
        name: str, ask: Ask, db: Database, ingest: IngestService, client: TestClient,
        cypher_sent: list[SentStatement]) -> None:
    _fan(ingest, 40)
    _ask(client, ask)  # plans cached; the answer below is the one measured
    cypher_sent.clear()
    _ask(client, ask)
    assert _reads(cypher_sent), name
    for records, query in _records_of(db, list(cypher_sent)):
        assert records <= 1, f"{name}: {records} records from\n{query}"


@pytest.mark.parametrize("name,ask", ASKED, ids=[name for name, _ in ASKED])
def test_an_answer_takes_as_many_statements_at_any_size(
        name: str, ask: Ask, db: Database, ingest: IngestService, client: TestClient,
        cypher_sent: list[SentStatement]) -> None:
    counts = []
    for jobs in (5, 60):
        _fan(ingest, jobs)
        cypher_sent.clear()
        _ask(client, ask)
        counts.append(len(_reads(cypher_sent)))
    assert counts[0] == counts[1], (name, counts)


def test_a_dataset_and_job_page_send_each_list_in_one_record(
        db: Database, ingest: IngestService, client: TestClient,
        cypher_sent: list[SentStatement]) -> None:
    columns = [f"c{i:02d}" for i in range(12)]
    events = [run_event("COMPLETE", new_run_id(), ("fan", "writer"), T0 + timedelta(minutes=i),
                        [ds("s3://fan", "source", fields=["id"])],
                        [ds("s3://fan", "history", fields=columns, version=f"v{i:02d}",
                            lineage={c: [("s3://fan", "source", "id")] for c in columns})])
              for i in range(30)]
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == 30
    cypher_sent.clear()
    answer = graphql_data(client, DATASET_AND_WRITER)
    assert (len(answer["dataset"]["versions"]), len(answer["dataset"]["fields"]),
            len(answer["dataset"]["columnLineage"]), len(answer["job"]["runs"])) == (
        30, 12, 12, 30)
    for records, query in _records_of(db, list(cypher_sent)):
        assert records <= 1, f"{records} records from\n{query}"
