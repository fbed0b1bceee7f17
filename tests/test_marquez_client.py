"""The real marquez-python client (PyPI marquez-python 0.50, written by Marquez's team) against
lineage-graph's Marquez-compatible read API, over HTTP; and GET /api/v1/lineage with Marquez's
semantics on a DAG where they differ from the directed walk."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from marquez_client import MarquezClient
from marquez_client.errors import APIError

from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError
from lineage_graph.ingest.service import IngestService
from tests.events import T0, ds, facet, new_run_id, pipeline, run_event

LAKE = "s3://lake"


@pytest.fixture()
def loaded(api_url: str, db: Database) -> tuple[MarquezClient, list[dict[str, Any]]]:
    events = pipeline(n_runs=2)
    assert IngestService(db).ingest_raw([(e, None) for e in events]).count("accepted") == len(
        events)
    return MarquezClient(url=api_url), events


def test_namespaces_datasets_and_versions(loaded: tuple[MarquezClient, Any]) -> None:
    client, _ = loaded
    names = [n["name"] for n in client.list_namespaces()["namespaces"]]
    assert names == ["airflow", LAKE, "spark"]
    assert client.get_namespace(LAKE)["name"] == LAKE  # "s3://lake" travels as one segment
    listed = client.list_datasets(LAKE)
    assert listed["totalCount"] == 3
    assert [d["name"] for d in listed["datasets"]] == [
        "clean.frames", "features.frames", "raw.frames"]
    clean = client.get_dataset(LAKE, "clean.frames")
    assert clean["id"] == {"namespace": LAKE, "name": "clean.frames"}
    assert [f["name"] for f in clean["fields"]] == ["frame_id", "ts"]
    assert clean["columnLineage"] == [
        {"name": name, "inputFields": [
            {"namespace": LAKE, "dataset": "raw.frames", "field": name,
             "transformationDescription": None, "transformationType": None}]}
        for name in ("frame_id", "ts")]
    assert set(clean["facets"]) == {"schema", "columnLineage"}
    versions = client.list_dataset_versions(LAKE, "clean.frames")
    assert versions["totalCount"] == 2  # one per night's writing run
    newest = versions["versions"][0]
    assert newest["version"] == clean["currentVersion"]
    assert newest["createdByRun"]["state"] == "COMPLETED"
    again = client.get_dataset_version(LAKE, "clean.frames", newest["version"])
    assert again["createdByRun"]["id"] == newest["createdByRun"]["id"]


def test_jobs_runs_and_a_run_by_id(loaded: tuple[MarquezClient, Any]) -> None:
    client, events = loaded
    jobs = client.list_jobs("spark")
    assert jobs["totalCount"] == 2
    stage_1 = client.get_job("spark", "stage_1")
    assert stage_1["inputs"] == [{"namespace": LAKE, "name": "clean.frames"}]
    assert stage_1["outputs"] == [{"namespace": LAKE, "name": "features.frames"}]
    runs = client.list_job_runs("spark", "stage_1")
    assert runs["totalCount"] == 2
    sent = {e["run"]["runId"] for e in events if e["job"]["name"] == "stage_1"}
    assert {r["id"] for r in runs["runs"]} == sent
    latest = runs["runs"][0]
    assert stage_1["latestRun"]["id"] == latest["id"]
    run = client.get_job_run(latest["id"])
    assert run["state"] == "COMPLETED" and run["durationMs"] == 5 * 60 * 1000
    assert [v["datasetVersionId"]["name"] for v in run["inputDatasetVersions"]] == [
        "clean.frames"]
    assert [v["datasetVersionId"]["name"] for v in run["outputDatasetVersions"]] == [
        "features.frames"]
    assert set(run["facets"]) == {"parent"}


def test_events_and_column_lineage(loaded: tuple[MarquezClient, Any], api_url: str) -> None:
    client, events = loaded
    listed = client.list_events(limit=5)
    assert listed["totalCount"] == len(events)
    assert len(listed["events"]) == 5
    times = [e["eventTime"] for e in listed["events"]]
    assert times == sorted(times, reverse=True)  # newest first, as Marquez sends them
    oldest = httpx.get(f"{api_url}/api/v1/events/lineage",
                       params={"sortDirection": "asc", "limit": 1}).json()
    assert oldest["events"] == [events[0]]
    by_dataset = client.get_column_lineage_by_dataset(LAKE, "features.frames", depth=2)
    ids = {node["id"] for node in by_dataset["graph"]}
    assert ids == {f"datasetField:{LAKE}:{ds_name}:{field}"
                   for ds_name in ("features.frames", "clean.frames", "raw.frames")
                   for field in ("frame_id", "ts")}
    ts = next(n for n in by_dataset["graph"]
              if n["id"] == f"datasetField:{LAKE}:features.frames:ts")
    assert [i["dataset"] for i in ts["data"]["inputFields"]] == ["clean.frames"]
    one = client.get_column_lineage_by_dataset_field(LAKE, "clean.frames", "ts", depth=1,
                                                     with_downstream=True)
    assert {n["id"] for n in one["graph"]} == {
        f"datasetField:{LAKE}:{name}:ts"
        for name in ("raw.frames", "clean.frames", "features.frames")}


def test_unknown_resources_and_writes_are_refused(loaded: tuple[MarquezClient, Any],
                                                  api_url: str) -> None:
    client, _ = loaded
    for call in (lambda: client.get_namespace("nowhere"),
                 lambda: client.get_dataset(LAKE, "nothing"),
                 lambda: client.get_job("spark", "nothing"),
                 lambda: client.get_job_run(new_run_id())):
        with pytest.raises(APIError):
            call()
    with pytest.raises(APIError):
        client.create_namespace("new", "me")
    refused = httpx.put(f"{api_url}/api/v1/namespaces/new", json={"ownerName": "me"})
    assert refused.status_code == 405
    assert "send OpenLineage events to POST /api/v1/lineage" in refused.json()["message"]
    tagged = httpx.post(f"{api_url}/api/v1/namespaces/{LAKE.replace('/', '%2F')}/datasets/"
                        "clean.frames/tags/pii")
    assert tagged.status_code == 405


def _job(name: str, inputs: list[str], outputs: list[str], day: int) -> list[dict[str, Any]]:
    run_id = new_run_id()
    at = T0 + timedelta(days=day)
    return [run_event("COMPLETE", run_id, ("etl", name), at,
                      inputs=[ds(LAKE, i) for i in inputs], outputs=[ds(LAKE, o) for o in outputs],
                      job_facets={"sql": facet("SQLJobFacet", query=f"-- {name}")})]


def test_lineage_follows_marquez_semantics(api_url: str, db: Database) -> None:
    """a -> [extract] -> b -> [transform] -> c, and [audit] also reads b and writes report;
    [backfill] writes a. From leaf c: Marquez starts at c's producer (transform) and walks job
    to job through shared datasets, so depth 1 already reaches extract and audit (both share b
    with transform), with every dataset of each; the directed walk would need 4 hops."""
    events = [*_job("extract", ["a"], ["b"], 1), *_job("transform", ["b"], ["c"], 2),
              *_job("audit", ["b"], ["report"], 3), *_job("backfill", [], ["a"], 0)]
    IngestService(db).ingest_raw([(e, None) for e in events])
    one = httpx.get(f"{api_url}/api/v1/lineage",
                    params={"nodeId": f"dataset:{LAKE}:c", "depth": 1}).json()["graph"]
    ids = [n["id"] for n in one]
    assert ids == sorted(ids)
    assert set(ids) == {"job:etl:transform", "job:etl:extract", "job:etl:audit",
                        *(f"dataset:{LAKE}:{d}" for d in ("a", "b", "c", "report"))}
    two = httpx.get(f"{api_url}/api/v1/lineage",
                    params={"nodeId": f"dataset:{LAKE}:c", "depth": 2}).json()["graph"]
    assert "job:etl:backfill" in {n["id"] for n in two}  # shares a with extract
    zero = httpx.get(f"{api_url}/api/v1/lineage",
                     params={"nodeId": f"dataset:{LAKE}:c", "depth": 0}).json()["graph"]
    assert {n["id"] for n in zero} == {"job:etl:transform", f"dataset:{LAKE}:b",
                                       f"dataset:{LAKE}:c"}
    b = next(n for n in one if n["id"] == f"dataset:{LAKE}:b")
    assert b["inEdges"] == [{"origin": "job:etl:extract", "destination": f"dataset:{LAKE}:b"}]
    assert b["outEdges"] == [{"origin": f"dataset:{LAKE}:b", "destination": "job:etl:audit"},
                             {"origin": f"dataset:{LAKE}:b",
                              "destination": "job:etl:transform"}]


def test_lineage_of_a_dataset_no_job_touches_is_the_dataset_alone(api_url: str,
                                                                  db: Database) -> None:
    IngestService(db).ingest_raw([({
        "eventTime": T0.isoformat(), "producer": "https://example.com",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": ds(LAKE, "lonely", ["id"])}, None)])
    graph = httpx.get(f"{api_url}/api/v1/lineage",
                      params={"nodeId": f"dataset:{LAKE}:lonely"}).json()["graph"]
    assert [(n["id"], n["inEdges"], n["outEdges"]) for n in graph] == [
        (f"dataset:{LAKE}:lonely", [], [])]


# -- found by an attacker review -------------------------------------------------------------


@pytest.mark.parametrize("params", [
    {"offset": 9223372036854775807}, {"offset": 99999999999999999999}, {"offset": -1},
    {"limit": 0}, {"limit": "abc"},
])
def test_paging_parameters_out_of_range_are_400s(api_url: str, db: Database,
                                                 params: dict[str, Any]) -> None:
    for path in ("/api/v1/namespaces", "/api/v1/events/lineage",
                 f"/api/v1/namespaces/{LAKE.replace('/', '%2F')}/jobs"):
        answer = httpx.get(f"{api_url}{path}", params=params)
        assert answer.status_code == 400, (path, answer.text)
        assert set(answer.json()) >= {"error", "message"}


def test_event_times_with_any_offset_are_read_in_utc(loaded: tuple[MarquezClient, Any],
                                                     api_url: str) -> None:
    _, events = loaded
    wide = httpx.get(f"{api_url}/api/v1/events/lineage",
                     params={"before": "2100-01-01T00:00:00-23:59"})
    assert wide.status_code == 200 and wide.json()["totalCount"] == len(events)
    year_zero = httpx.get(f"{api_url}/api/v1/events/lineage",
                          params={"after": "0001-01-01T00:00:00+01:00"})
    assert year_zero.status_code == 400 and year_zero.json()["field"] == "after"


def test_runs_without_versions_list_none_and_ids_are_found_as_sent(api_url: str,
                                                                  db: Database) -> None:
    run_id = new_run_id()
    IngestService(db).ingest_raw([(run_event("COMPLETE", run_id, ("etl", "noop"), T0), None)])
    client = MarquezClient(url=api_url)
    run = client.get_job_run(run_id.upper())  # the emitter's capitals find the same run
    assert run["id"] == run_id
    assert run["inputDatasetVersions"] == [] and run["outputDatasetVersions"] == []
    odd = run_event("COMPLETE", "dag/run:1", ("etl", "odd"), T0)
    IngestService(db).ingest_raw([(odd, None)])
    found = httpx.get(f"{api_url}/api/v1/jobs/runs/etl%3Aodd%3Adag%2Frun%3A1")
    assert found.status_code == 200 and found.json()["id"] == "etl:odd:dag/run:1"


def test_lineage_starts_at_the_job_that_last_wrote_the_dataset(api_url: str,
                                                               db: Database) -> None:
    events = [*_job("a", [], ["shared"], 0), *_job("b", [], ["shared"], 30),
              *_job("a", [], ["shared"], 60)]
    IngestService(db).ingest_raw([(e, None) for e in events])
    graph = httpx.get(f"{api_url}/api/v1/lineage",
                      params={"nodeId": f"dataset:{LAKE}:shared", "depth": 0}).json()["graph"]
    assert {n["id"] for n in graph} == {"job:etl:a", f"dataset:{LAKE}:shared"}


def test_a_lineage_past_the_node_cap_is_refused_not_cut(db: Database) -> None:
    from lineage_graph.lineage.service import LineageService
    from lineage_graph.marquez.service import MarquezService

    hub = [e for i in range(6) for e in _job(f"reader_{i}", ["hub"], [f"out_{i}"], i)]
    IngestService(db).ingest_raw([(e, None) for e in hub])
    marquez = MarquezService(db, LineageService(db, 20, 100), 20, 100, max_nodes=4)
    with pytest.raises(InvalidRequestError, match="more than 4 jobs within depth 1"):
        marquez.lineage(f"dataset:{LAKE}:out_0", 1)
    assert len(marquez.lineage(f"dataset:{LAKE}:out_0", 0)["graph"]) == 3
