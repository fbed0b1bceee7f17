"""The HTTP API against the real Neo4j: ingestion endpoints, errors, Marquez-compatible lineage,
health and GraphQL."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from tests.conftest import LOCAL_BASE_URL, query
from tests.events import T0, ds, new_run_id, pipeline, run_event


def _gql(client: TestClient, text: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": text, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _load_pipeline(client: TestClient) -> list[dict[str, Any]]:
    events = pipeline(n_runs=2)
    body = "\n".join(json.dumps(e) for e in events)
    response = client.post("/api/v1/lineage/batch", content=body,
                           headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 200
    assert response.json()["summary"] == {"accepted": len(events), "duplicate": 0, "rejected": 0}
    return events


# -- ingestion ----------------------------------------------------------------------------------


def test_single_event_is_created_with_201(client: TestClient, db: Database) -> None:
    event = run_event("START", new_run_id(), ("airflow", "etl"), T0, outputs=[ds("pg", "t")])
    response = client.post("/api/v1/lineage", json=event)
    assert response.status_code == 201
    assert response.json()["status"] == "accepted"
    again = client.post("/api/v1/lineage", json=event)
    assert again.status_code == 201
    assert again.json()["status"] == "duplicate"
    assert again.json()["seq"] == response.json()["seq"]


def test_unparseable_json_is_a_400_not_a_500(client: TestClient, db: Database) -> None:
    response = client.post("/api/v1/lineage", content=b'{"eventType": "START", ',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]
    assert client.post("/api/v1/lineage", content=b"[1, 2]",
                       headers={"Content-Type": "application/json"}).status_code == 400


def test_core_violations_name_the_field_and_write_nothing(client: TestClient, db: Database) -> None:
    base = run_event("START", new_run_id(), ("airflow", "etl"), T0,
                     outputs=[ds("pg", "t")])
    cases = {
        "eventTime": {**base, "eventTime": "yesterday"},
        "job.name": {**base, "job": {"namespace": "airflow"}},
        "outputs[0].namespace": {**base, "outputs": [{"name": "t"}]},
        "run.runId": {**base, "run": {"runId": ""}},
        "producer": {k: v for k, v in base.items() if k != "producer"},
    }
    for field, event in cases.items():
        response = client.post("/api/v1/lineage", json=event)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["field"] == field
    assert query(db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n") == [{"n": 0}]


def test_batch_answers_per_event_and_one_bad_event_spares_the_others(
    client: TestClient, db: Database
) -> None:
    good = run_event("COMPLETE", new_run_id(), ("airflow", "etl"), T0)
    bad = {**good, "run": {}}
    response = client.post("/api/v1/lineage/batch", json=[good, bad, good])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "duplicate"]
    assert results[1]["field"] == "run.runId"
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 1}]


def test_ndjson_line_that_is_not_json_is_rejected_alone(client: TestClient, db: Database) -> None:
    good = json.dumps(run_event("COMPLETE", new_run_id(), ("airflow", "etl"), T0))
    response = client.post("/api/v1/lineage/batch", content=f"{good}\n{{broken\n",
                           headers={"Content-Type": "application/x-ndjson"})
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "rejected"]
    assert "line 2" in response.json()["results"][1]["error"]


def test_oversized_body_is_413(db: Database, neo4j_server: Any) -> None:
    from dataclasses import replace

    from lineage_graph.web.app import create_app

    app = create_app(replace(neo4j_server, max_body_bytes=1000))
    with TestClient(app, base_url=LOCAL_BASE_URL) as client:
        event = run_event("START", new_run_id(), ("airflow", "etl"), T0)
        event["job"]["facets"] = {"documentation": {"description": "x" * 2000}}
        response = client.post("/api/v1/lineage", json=event)
        assert response.status_code == 413
        assert "LINEAGE_GRAPH_MAX_BODY_BYTES" in response.json()["message"]
        assert client.post("/api/v1/lineage/batch", json=[event]).status_code == 413
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 0}]


def test_batch_over_the_event_limit_is_413(db: Database, neo4j_server: Any) -> None:
    from dataclasses import replace

    from lineage_graph.web.app import create_app

    app = create_app(replace(neo4j_server, max_batch_events=2))
    with TestClient(app, base_url=LOCAL_BASE_URL) as client:
        events = [run_event("START", new_run_id(), ("a", "b"), T0) for _ in range(3)]
        response = client.post("/api/v1/lineage/batch", json=events)
        assert response.status_code == 413
        assert "LINEAGE_GRAPH_MAX_BATCH_EVENTS" in response.json()["message"]
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 0}]


# -- Marquez-compatible lineage and health ------------------------------------------------------


def test_marquez_lineage_shape(client: TestClient) -> None:
    _load_pipeline(client)
    response = client.get("/api/v1/lineage",
                          params={"nodeId": "dataset:s3://lake:clean.frames", "depth": 5})
    assert response.status_code == 200
    graph = {node["id"]: node for node in response.json()["graph"]}
    assert set(graph) == {
        "dataset:s3://lake:raw.frames", "job:spark:stage_0", "dataset:s3://lake:clean.frames",
        "job:spark:stage_1", "dataset:s3://lake:features.frames",
    }
    clean = graph["dataset:s3://lake:clean.frames"]
    assert clean["type"] == "DATASET"
    assert clean["data"]["id"] == {"namespace": "s3://lake", "name": "clean.frames"}
    assert [f["name"] for f in clean["data"]["fields"]] == ["frame_id", "ts"]
    assert clean["inEdges"] == [{"origin": "job:spark:stage_0",
                                 "destination": "dataset:s3://lake:clean.frames"}]
    assert clean["outEdges"] == [{"origin": "dataset:s3://lake:clean.frames",
                                  "destination": "job:spark:stage_1"}]
    stage1 = graph["job:spark:stage_1"]["data"]
    assert stage1["inputs"] == [{"namespace": "s3://lake", "name": "clean.frames"}]
    assert stage1["latestRun"]["state"] == "COMPLETED"  # Marquez names the state so


def test_marquez_lineage_of_unknown_node_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/lineage", params={"nodeId": "dataset:nope:nothing"})
    assert response.status_code == 404
    assert "dataset:nope:nothing" in response.json()["message"]


def test_healthz_is_200_when_neo4j_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["neo4j"] == "up"


def test_without_neo4j_queries_are_503_and_events_are_spooled(neo4j_server: Any,
                                                                tmp_path: Any) -> None:
    from dataclasses import replace

    from lineage_graph.web.app import create_app

    nowhere = replace(neo4j_server, neo4j_uri="bolt://127.0.0.1:1", neo4j_password="x",
                      neo4j_retry_seconds=1, spool_dir_override=tmp_path)
    # It starts although Neo4j is unreachable.
    with TestClient(create_app(nowhere), base_url=LOCAL_BASE_URL) as client:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "neo4j": "down",
                                   "spool": {"depth": 0, "deadLetters": 0}}
        event = run_event("START", new_run_id(), ("a", "b"), T0)
        spooled = client.post("/api/v1/lineage", json=event)
        assert spooled.status_code == 202 and spooled.json()["status"] == "spooled"
        assert client.get("/healthz").json()["spool"]["depth"] == 1
        query = client.post("/graphql", json={"query": '{ node(id: "x") { id } }'}).json()
        assert query["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        rest = client.get("/api/v1/lineage", params={"nodeId": "job:a:b"})
        assert rest.status_code == 503 and rest.json()["error"] == "neo4j_unavailable"


# -- GraphQL ------------------------------------------------------------------------------------


def test_graphiql_is_served_on_get(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_graphql_dataset_job_and_run(client: TestClient) -> None:
    events = _load_pipeline(client)
    data = _gql(client, """
      query {
        dataset(namespace: "s3://lake", name: "features.frames") {
          id name facets fields { name type }
          versions(limit: 5) { version producedBy { id state } }
          columnLineage { field inputs { namespace name field } }
        }
        job(namespace: "spark", name: "stage_1") {
          id sql runs(limit: 1) { id state } latestRun { id state startedAt endedAt }
        }
      }""")["data"]
    dataset = data["dataset"]
    assert dataset["id"] == "dataset:s3://lake:features.frames"
    assert set(dataset["facets"]) == {"schema", "columnLineage"}
    assert [f["name"] for f in dataset["fields"]] == ["frame_id", "ts"]
    assert len(dataset["versions"]) == 2
    assert all(v["producedBy"]["state"] == "COMPLETE" for v in dataset["versions"])
    assert {"field": "ts", "inputs": [{"namespace": "s3://lake", "name": "clean.frames",
                                       "field": "ts"}]} in dataset["columnLineage"]
    job = data["job"]
    assert job["sql"].startswith("INSERT INTO features.frames")
    assert job["latestRun"]["state"] == "COMPLETE"

    child_id = events[1]["run"]["runId"]
    run = _gql(client, """
      query($id: ID!) { run(id: $id) {
        id state job { name } parent { id state children { id } }
        inputs { dataset { name } version { version } } outputs { dataset { name } version { id } }
        facets
      } }""", id=child_id)["data"]["run"]
    assert run["job"]["name"] == "stage_0"
    assert run["parent"]["id"] == events[0]["run"]["runId"]
    assert child_id in [c["id"] for c in run["parent"]["children"]]
    assert run["inputs"][0]["dataset"]["name"] == "raw.frames"
    assert run["outputs"][0]["dataset"]["name"] == "clean.frames"
    assert "parent" in run["facets"]


def test_graphql_lineage_and_node(client: TestClient) -> None:
    _load_pipeline(client)
    up = _gql(client, """
      query { lineage(nodeId: "dataset:s3://lake:features.frames", direction: UPSTREAM, depth: 4) {
        nodes { id kind } edges { source target kind } truncated } }""")["data"]["lineage"]
    assert {n["id"] for n in up["nodes"]} == {
        "dataset:s3://lake:features.frames", "job:spark:stage_1",
        "dataset:s3://lake:clean.frames", "job:spark:stage_0", "dataset:s3://lake:raw.frames",
    }
    assert {"source": "dataset:s3://lake:clean.frames", "target": "job:spark:stage_1",
            "kind": "INPUT"} in up["edges"]
    shallow = _gql(client, """
      query { lineage(nodeId: "dataset:s3://lake:features.frames", direction: UPSTREAM, depth: 1) {
        nodes { id } } }""")["data"]["lineage"]
    assert len(shallow["nodes"]) == 2
    down = _gql(client, """
      query { lineage(nodeId: "dataset:s3://lake:raw.frames", direction: DOWNSTREAM, depth: 10) {
        nodes { id } } }""")["data"]["lineage"]
    assert len(down["nodes"]) == 5
    node = _gql(client, 'query { node(id: "job:spark:stage_0") { id kind namespace name } }')
    assert node["data"]["node"] == {"id": "job:spark:stage_0", "kind": "JOB",
                                    "namespace": "spark", "name": "stage_0"}


def test_graphql_run_level_lineage_from_a_run(client: TestClient) -> None:
    events = _load_pipeline(client)
    run_id = events[1]["run"]["runId"]
    found = _gql(client, """
      query($id: ID!) { lineage(nodeId: $id, direction: BOTH, depth: 2) { nodes { kind } } }""",
                 id=run_id)["data"]["lineage"]
    kinds = sorted(n["kind"] for n in found["nodes"])
    assert "JOB" not in kinds and kinds.count("RUN") >= 2


def test_graphql_errors_are_clear(client: TestClient) -> None:
    _load_pipeline(client)
    too_deep = _gql(
        client, 'query { lineage(nodeId: "job:spark:stage_0", depth: 500) { nodes { id } } }')
    assert too_deep["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "LINEAGE_GRAPH_MAX_DEPTH" in too_deep["errors"][0]["message"]
    missing = _gql(client, 'query { lineage(nodeId: "job:nope:nothing") { nodes { id } } }')
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    limit = _gql(client, 'query { search(query: "frames", limit: 100000) { id } }')
    assert limit["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert _gql(client, 'query { dataset(namespace: "x", name: "y") { id } }')["data"] == {
        "dataset": None}


def test_graphql_search(client: TestClient) -> None:
    _load_pipeline(client)
    found = _gql(client, 'query { search(query: "clean", kinds: [DATASET]) { id kind } }')
    assert found["data"]["search"] == [{"id": "dataset:s3://lake:clean.frames", "kind": "DATASET"}]
    jobs = _gql(client, 'query { search(query: "stage", kinds: [JOB], limit: 1) { id } }')
    assert len(jobs["data"]["search"]) == 1
    hostile = _gql(client, 'query { search(query: "\\") OR 1=1 //") { id } }')
    assert hostile["data"]["search"] == []
