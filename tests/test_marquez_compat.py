"""Drop-in for Marquez: what Marquez accepts is accepted here (events without `schemaURL`, a
JobEvent carrying `eventType`), flagged where it was read with an assumption."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from tests.conftest import query
from tests.events import T0, ds, new_run_id, run_event


def test_an_event_without_schema_url_is_accepted_and_flagged(client: TestClient,
                                                             db: Database) -> None:
    event = run_event("START", new_run_id(), ("marquez", "quickstart"), T0,
                      inputs=[ds("postgres://db", "public.orders")])
    del event["schemaURL"]
    answer = client.post("/api/v1/lineage", json=event)
    assert answer.status_code == 201, answer.text
    assert answer.json()["warnings"] == [{
        "field": "schemaURL",
        "problem": "missing: read as https://openlineage.io/spec/2-0-2/OpenLineage.json"}]
    [row] = query(db, "MATCH (e:Event) RETURN e.kind AS kind, e.warnings AS warnings")
    assert row == {"kind": "RunEvent", "warnings": [
        "schemaURL: missing: read as https://openlineage.io/spec/2-0-2/OpenLineage.json"]}
    assert query(db, "MATCH (:Run)-[:READ]->(d:Dataset) RETURN d.name AS name") == [
        {"name": "public.orders"}]


def _marquez_job_event() -> dict[str, Any]:
    """The shape of Marquez's `event_job_event.json`: a JobEvent with an `eventType`."""
    return {
        "eventType": "COMPLETE", "eventTime": T0.isoformat(),
        "job": {"namespace": "my-scheduler-namespace", "name": "myjob.mytask", "facets": {}},
        "inputs": [ds("my-datasource-namespace", "instance.schema.input")],
        "outputs": [ds("my-datasource-namespace", "instance.schema.output")],
        "producer": "https://github.com/MarquezProject/marquez/blob/main/api/src/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
    }


def test_a_job_event_carrying_event_type_is_read_as_a_job_event(client: TestClient,
                                                                db: Database) -> None:
    answer = client.post("/api/v1/lineage", json=_marquez_job_event())
    assert answer.status_code == 201, answer.text
    assert "warnings" not in answer.json()
    assert query(db, "MATCH (e:Event) RETURN e.kind AS kind") == [{"kind": "JobEvent"}]
    [job] = query(db, """MATCH (j:Job {name: 'myjob.mytask'})
        RETURN [(j)-[:READS]->(d) | d.name] AS reads, [(j)-[:WRITES]->(d) | d.name] AS writes,
               COUNT { (j)-[:HAS_RUN]->() } AS runs""")
    assert job == {"reads": ["instance.schema.input"], "writes": ["instance.schema.output"],
                   "runs": 0}


def test_without_a_fragment_the_keys_decide_the_kind(client: TestClient, db: Database) -> None:
    event = _marquez_job_event()
    event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
    refused = client.post("/api/v1/lineage", json=event)  # eventType says run, and no run
    assert refused.status_code == 422
    assert refused.json()["field"] == "run"


def test_a_run_id_that_is_not_a_uuid_is_kept_as_sent_and_flagged(client: TestClient,
                                                                 db: Database) -> None:
    """The compatibility scenarios' simple_run_event sends runId "run_id". Its node id is
    prefixed so no runId can take another node's id; a UUID in capitals is the same run as in
    lower case, as a parent or as itself."""
    odd = run_event("COMPLETE", "dataset:s3://lake:orders", ("x", "odd"), T0)
    answer = client.post("/api/v1/lineage", json=odd)
    assert answer.status_code == 201, answer.text
    assert {"field": "run.runId",
            "problem": "not a UUID as the spec asks: kept, scoped by its job"} in (
        answer.json()["warnings"])
    assert query(db, "MATCH (r:Run) RETURN r.runId AS runId, r.nodeId AS nodeId") == [
        {"runId": "x:odd:dataset:s3://lake:orders",
         "nodeId": "run:x:odd:dataset:s3://lake:orders"}]
    parent = new_run_id()
    child = run_event("START", new_run_id(), ("x", "child"), T0, run_facets={"parent": {
        "_producer": "https://example.com", "_schemaURL": "https://example.com/p",
        "run": {"runId": parent.upper()}, "job": {"namespace": "x", "name": "parent"}}})
    shouted = run_event("COMPLETE", parent.upper(), ("x", "parent"), T0)
    for event in (child, shouted):
        assert "warnings" not in client.post("/api/v1/lineage", json=event).json()
    assert query(db, """MATCH (c:Run)-[:CHILD_OF]->(p:Run {runId: $id})
                        RETURN p.nodeId AS nodeId, p.state AS state""", id=parent) == [
        {"nodeId": parent, "state": "COMPLETE"}]


def _symlinked(run_id: str, event_type: str) -> dict[str, Any]:
    """Spark writes /tmp/cll_test/tbl1, also known as Hive table default.tbl1."""
    table = ds("file", "/tmp/cll_test/tbl1", ["ident"])
    table["facets"]["symlinks"] = {
        "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.20.0/integration/spark",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json",
        "identifiers": [{"namespace": "file:/tmp/cll_test", "name": "default.tbl1",
                         "type": "TABLE"}]}
    return run_event(event_type, run_id, ("spark", "create_tbl1"), T0,
                     inputs=[ds("file", "/tmp/cll_test/source")], outputs=[table])


def test_a_symlinked_dataset_answers_to_every_name(client: TestClient, db: Database) -> None:
    run_id = new_run_id()
    for event_type in ("START", "COMPLETE"):
        assert client.post("/api/v1/lineage", json=_symlinked(run_id, event_type)
                           ).status_code == 201
    # One dataset, with its alias; no second dataset for the table name.
    assert query(db, "MATCH (d:Dataset) RETURN d.name AS name ORDER BY name") == [
        {"name": "/tmp/cll_test/source"}, {"name": "/tmp/cll_test/tbl1"}]
    by_alias = client.post("/graphql", json={"query": """{
        dataset(namespace: "file:/tmp/cll_test", name: "default.tbl1") {
          id name aliases { namespace name type } } }"""}).json()["data"]["dataset"]
    assert by_alias == {"id": "dataset:file:/tmp/cll_test/tbl1", "name": "/tmp/cll_test/tbl1",
                        "aliases": [{"namespace": "file:/tmp/cll_test", "name": "default.tbl1",
                                     "type": "TABLE"}]}
    found = client.post("/graphql", json={"query": """{ search(query: "default.tbl1") {
        id } }"""}).json()["data"]["search"]
    assert [n["id"] for n in found] == ["dataset:file:/tmp/cll_test/tbl1"]
    # Marquez's lineage endpoint: the same graph whichever name is asked for.
    answers = [client.get("/api/v1/lineage", params={"nodeId": node_id, "depth": 2}).json()
               for node_id in ("dataset:file:/tmp/cll_test/tbl1",
                               "dataset:file:/tmp/cll_test:default.tbl1")]
    assert answers[0] == answers[1]
    assert {n["id"] for n in answers[0]["graph"]} == {
        "dataset:file:/tmp/cll_test/tbl1", "dataset:file:/tmp/cll_test/source",
        "job:spark:create_tbl1"}


def test_tasks_sharing_a_run_id_that_is_not_a_uuid_stay_apart(client: TestClient,
                                                              db: Database) -> None:
    """Airflow-style ids are shared by every task of a DAG run: each task keeps its own run,
    its own inputs and its own state (found by an attacker review: they were merged)."""
    shared = "scheduled__2026-03-01T00:00:00+00:00"
    for task, state in (("extract", "COMPLETE"), ("load", "FAIL")):
        event = run_event(state, shared, ("airflow", f"nightly.{task}"), T0,
                          inputs=[ds("s3://lake", f"{task}_in")],
                          outputs=[ds("s3://lake", f"{task}_out")])
        assert client.post("/api/v1/lineage", json=event).status_code == 201
    rows = query(db, """MATCH (j:Job)-[:HAS_RUN]->(r:Run)
        RETURN j.name AS job, r.runId AS runId, r.state AS state,
               [(r)-[:READ]->(d) | d.name] AS reads ORDER BY job""")
    assert rows == [
        {"job": "nightly.extract", "runId": f"airflow:nightly.extract:{shared}",
         "state": "COMPLETE", "reads": ["extract_in"]},
        {"job": "nightly.load", "runId": f"airflow:nightly.load:{shared}", "state": "FAIL",
         "reads": ["load_in"]}]


def test_aliases_resolve_at_every_level_and_in_column_lineage(client: TestClient,
                                                              db: Database) -> None:
    run_id = new_run_id()
    event = _symlinked(run_id, "COMPLETE")
    event["outputs"][0]["facets"]["columnLineage"] = {
        "_producer": "https://example.com", "_schemaURL": "https://example.com/cl",
        "fields": {"ident": {"inputFields": [
            {"namespace": "file", "name": "/tmp/cll_test/source", "field": "id"}]}}}
    assert client.post("/api/v1/lineage", json=event).status_code == 201
    alias = "dataset:file:/tmp/cll_test:default.tbl1"
    for field, extra in (("impact", ""), ("lineage", ", level: VERSION, direction: UPSTREAM")):
        body = client.post("/graphql", json={"query": f"""query($id: ID!) {{
            {field}(nodeId: $id{extra}) {{ nodes {{ id }} }} }}""",
            "variables": {"id": alias}}).json()
        assert "errors" not in body, body
        assert "dataset:file:/tmp/cll_test/tbl1" in {n["id"] for n in body["data"][field]["nodes"]}
    columns = client.get("/api/v1/column-lineage", params={"nodeId": alias, "depth": 1})
    assert columns.status_code == 200
    assert {n["id"] for n in columns.json()["graph"]} == {
        "datasetField:file:/tmp/cll_test/tbl1:ident", "datasetField:file:/tmp/cll_test/source:id"}


def test_version_level_from_a_job_is_a_clear_error(client: TestClient, db: Database) -> None:
    client.post("/api/v1/lineage", json=_symlinked(new_run_id(), "COMPLETE"))
    body = client.post("/graphql", json={"query": """{
        lineage(nodeId: "job:spark:create_tbl1", level: VERSION) { nodes { id } } }"""}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "start from one of the job's runs" in body["errors"][0]["message"]


def test_a_dataset_event_sent_with_a_run_event_fragment_is_still_read(client: TestClient,
                                                                      db: Database) -> None:
    event = {"eventTime": T0.isoformat(), "producer": "https://example.com",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "dataset": ds("s3://lake", "orders", ["id"])}
    answer = client.post("/api/v1/lineage", json=event)
    assert answer.status_code == 201, answer.text
    assert query(db, "MATCH (e:Event) RETURN e.kind AS kind") == [{"kind": "DatasetEvent"}]


def test_routing_answers_use_the_api_error_body(client: TestClient) -> None:
    wrong_method = client.delete("/api/v1/namespaces")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
    bad = client.get("/api/v1/lineage", params={"nodeId": "job:x:y", "depth": "deep"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_request" and bad.json()["field"] == "depth"
