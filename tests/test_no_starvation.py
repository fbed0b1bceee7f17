"""No caller can starve ingestion: ingestion has threads of its own, `verifyLedger` is admin-only
and single-flight, every list takes a `limit`, and the GraphQL limiters hold through fragment
spreads and cycles. (Latency under load is measured by benchmarks/starvation.py, not here.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.auth.keys import ApiKeyService
from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.settings import Settings
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from tests.conftest import LOCAL_BASE_URL
from tests.events import T0, ds, model_training, new_run_id, pipeline, run_event
from tests.test_evaluations import V2_METRICS, WAREHOUSE, _eval_run

VERIFY = "{ " + " ".join(f"v{i}: verifyLedger {{ ok checked }}" for i in range(10)) + " }"


def _gql(client: TestClient, query: str, **headers: str) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/graphql", json={"query": query},
                                       headers=headers).json()
    return body


# -- ingestion's own threads --------------------------------------------------------------------


def test_ingestion_answers_while_every_default_worker_is_busy(client: TestClient,
                                                              db: Database) -> None:
    """Heavy resolvers (or anything else on the event loop's default pool) can hold every
    default thread; an emitter's POST is still served, on ingestion's threads."""
    release = threading.Event()

    async def occupy_default_pool() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(64):  # far more than the default pool's threads
            loop.run_in_executor(None, release.wait, 120)

    portal = client.portal  # type: ignore[attr-defined]
    portal.call(occupy_default_pool)
    answer: dict[str, Any] = {}
    poster = threading.Thread(target=lambda: answer.update(
        response=client.post("/api/v1/lineage", json=run_event(
            "COMPLETE", new_run_id(), ("airflow", "during-load"), T0))))
    try:
        poster.start()
        poster.join(timeout=60)
        assert not poster.is_alive(), "the POST waited for the busy default pool"
        assert not release.is_set()  # answered while every default worker was still held
        assert answer["response"].status_code == 201
    finally:
        release.set()
        poster.join(timeout=60)


# -- verifyLedger -------------------------------------------------------------------------------


def test_concurrent_verifications_share_one_run(client: TestClient, db: Database) -> None:
    stored = IngestService(db).ingest_raw([(e, None) for e in pipeline(n_runs=3)])
    records = stored.count("accepted")
    state = client.app.state.lineage  # type: ignore[attr-defined]
    calls: list[int] = []

    def counted(database: Database) -> Any:
        calls.append(1)
        return verify_ledger(database)

    state.ledger._verify = counted
    body = _gql(client, VERIFY)
    assert "errors" not in body, body
    reports = list(body["data"].values())
    assert len(reports) == 10 and all(r == {"ok": True, "checked": records} for r in reports)
    assert len(calls) == 1  # ten fields, one verification
    _gql(client, "{ verifyLedger { ok } }")
    assert len(calls) == 2  # a later request verifies afresh


@pytest.fixture()
def secured(db: Database, neo4j_server: Settings) -> Iterator[TestClient]:
    from lineage_graph.web.app import create_app

    with TestClient(create_app(replace(neo4j_server, auth="on")),
                    base_url=LOCAL_BASE_URL) as client:
        yield client


def test_verify_ledger_needs_the_admin_scope(secured: TestClient, db: Database) -> None:
    keys = ApiKeyService(db)
    _, reader = keys.create("dashboard", ["read"])
    _, admin = keys.create("ops", ["admin"])
    refused = _gql(secured, "{ verifyLedger { ok } }", Authorization=f"Bearer {reader}")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused["data"] is None
    allowed = _gql(secured, "{ verifyLedger { ok } }", Authorization=f"Bearer {admin}")
    assert allowed["data"]["verifyLedger"]["ok"] is True


# -- every list has a limit ---------------------------------------------------------------------


def test_every_list_of_a_node_takes_a_limit(client: TestClient, db: Database) -> None:
    run_id = new_run_id()
    lineage = {"c": [("pg", "public.src", "x"), ("pg", "public.src", "y")],
               "b": [("pg", "public.src", "x")]}
    IngestService(db).ingest_raw([(run_event(
        "COMPLETE", run_id, ("airflow", "wide"), T0,
        inputs=[ds("pg", "public.src", ["x", "y"]), ds("pg", "public.other", ["z"])],
        outputs=[ds("pg", "public.a", ["a", "b", "c"], lineage=lineage),
                 ds("pg", "public.b", ["a"])]), None)])
    store_scene(db, read_scene(WAREHOUSE, all_variants=True).as_dict())
    IngestService(db).ingest_raw([(e, None) for e in [*model_training("v2", "sha256:bbb"),
                                                      _eval_run("v2", V2_METRICS)]])
    query = """query($run: ID!) {
      dataset(namespace: "pg", name: "public.a") {
        allFields: fields { name } oneField: fields(limit: 1) { name }
        allPairs: columnLineage { field } onePair: columnLineage(limit: 1) { field } }
      run(id: $run) {
        allIn: inputs { dataset { name } } oneIn: inputs(limit: 1) { dataset { name } }
        allOut: outputs { dataset { name } } oneOut: outputs(limit: 1) { dataset { name } } }
      scene(sceneId: "warehouse") { allLayers: layers { path } oneLayer: layers(limit: 1) { path } }
      modelVersion(name: "detector", version: "v2") {
        allMetrics: metrics { name } oneMetric: metrics(limit: 1) { name } } }"""
    body = client.post("/graphql", json={"query": query, "variables": {"run": run_id}}).json()
    assert "errors" not in body, body
    data = body["data"]
    pairs = [("dataset", "allFields", "oneField", 3), ("dataset", "allPairs", "onePair", 2),
             ("run", "allIn", "oneIn", 2), ("run", "allOut", "oneOut", 2),
             ("modelVersion", "allMetrics", "oneMetric", 4)]
    for owner, every, one, count in pairs:
        assert len(data[owner][every]) == count, (owner, every)
        assert len(data[owner][one]) == 1 and data[owner][one][0] == data[owner][every][0]
    layers = [layer for layer in data["scene"]["allLayers"]]
    assert len(layers) > 1 and data["scene"]["oneLayer"][0] == layers[0]


@pytest.mark.parametrize("field", [
    'dataset(namespace: "pg", name: "x") { fields(limit: 1001) { name } }',
    'dataset(namespace: "pg", name: "x") { columnLineage(limit: 0) { field } }',
    'run(id: "00000000-0000-0000-0000-000000000000") { inputs(limit: 5000) { version { id } } }',
])
def test_a_limit_beyond_the_maximum_is_refused(client: TestClient, db: Database,
                                               field: str) -> None:
    IngestService(db).ingest_raw([(run_event(
        "COMPLETE", "00000000-0000-0000-0000-000000000000", ("airflow", "j"), T0,
        outputs=[ds("pg", "x", ["a"])]), None)])
    body = _gql(client, "{ " + field + " }")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST", "field": "limit"}
    assert "LINEAGE_GRAPH_MAX_LIMIT" in error["message"]


# -- GraphQL limiters through fragments ---------------------------------------------------------


def test_a_fragment_cycle_is_refused_before_execution(client: TestClient, db: Database) -> None:
    body = _gql(client, "query { ...A } fragment A on Query { ...B } "
                        "fragment B on Query { ...A }")
    assert body["data"] is None
    assert "Cannot spread fragment 'A' within itself" in body["errors"][0]["message"]


def test_aliases_are_counted_through_fragment_spreads(client: TestClient, db: Database) -> None:
    twenty = " ".join(f"a{i}: models(limit: 1) {{ id }}" for i in range(20))
    body = _gql(client, "query { ...F ...G } fragment F on Query { " + twenty + " } "
                        "fragment G on Query { " + twenty.replace("a", "b") + " }")
    assert body["data"] is None
    assert body["errors"][0]["message"] == "40 aliases found. Allowed: 30"


def test_depth_is_counted_through_fragment_spreads(client: TestClient, db: Database) -> None:
    chain = " ".join(f"fragment D{i} on Run {{ children {{ ...D{i + 1} }} }}"
                     for i in range(1, 30))
    query = ('query { run(id: "x") { ...D1 } } ' + chain + " fragment D30 on Run { id }")
    body = _gql(client, query)
    assert body["data"] is None
    assert "exceeds maximum operation depth of 15" in body["errors"][0]["message"]
