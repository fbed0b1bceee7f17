"""Lineage and impact at three levels (docs/forensics.md#levels). The planted case: two
versions of a detector trained by the same job into the same dataset; only v2's training run
read the frames rendered from the night scene variant. Version-accurate impact of that variant
names v2 and v2's evaluation, never v1 (the job-level walk still can, when asked)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ids import dataset_id
from lineage_graph.ingest.service import IngestService
from tests.conftest import query
from tests.events import T0, ds, facet, new_run_id, run_event

DAY = {"layout": "aisle_wide", "lighting": "day"}
NIGHT = {"layout": "aisle_wide", "lighting": "night"}


def _run(job: str, day: int, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]],
         run_facets: dict[str, Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
    run_id = new_run_id()
    at = T0 + timedelta(days=day)
    return run_id, [run_event("START", run_id, ("ml", job), at, inputs, outputs, run_facets),
                    run_event("COMPLETE", run_id, ("ml", job), at + timedelta(hours=1), inputs,
                              outputs, run_facets)]


def _scene(key: str, selections: dict[str, str]) -> dict[str, Any]:
    scene = ds("usd://warehouse", f"warehouse/{key}")
    scene["facets"]["usdScene"] = facet("UsdSceneDatasetFacet", sceneId="warehouse",
                                        rootLayer="warehouse.usda",
                                        variantSelections=selections)
    return scene


def _model(version: str) -> dict[str, Any]:
    model = ds("s3://models", "detector")  # one dataset, a version per training run
    model["facets"]["mlModel"] = facet("MlModelDatasetFacet", name="detector", version=version,
                                       digest=f"sha256:{version}")
    return model


class Planted:
    def __init__(self, db: Database) -> None:
        _, render_day = _run("render", 0, [_scene("day", DAY)], [ds("s3://frames", "day")])
        _, render_night = _run("render", 0, [_scene("night", NIGHT)],
                               [ds("s3://frames", "night")])
        self.train_v1, train_v1 = _run("train", 1, [ds("s3://frames", "day")], [_model("v1")])
        self.train_v2, train_v2 = _run("train", 2, [ds("s3://frames", "day"),
                                                    ds("s3://frames", "night")], [_model("v2")])
        self.eval_v1, eval_v1 = self._evaluate("v1")
        self.eval_v2, eval_v2 = self._evaluate("v2")
        events = [*render_day, *render_night, *train_v1, *train_v2, *eval_v1, *eval_v2]
        assert IngestService(db).ingest_raw([(e, None) for e in events]).count("accepted") == 12
        [night] = query(db, "MATCH (v:SceneVariant) WHERE v.selections CONTAINS 'night' "
                            "RETURN v.nodeId AS id")
        self.night_variant = night["id"]
        models = query(db, "MATCH (m:ModelVersion) RETURN m.version AS v, m.nodeId AS id")
        self.model = {r["v"]: r["id"] for r in models}

    @staticmethod
    def _evaluate(version: str) -> tuple[str, list[dict[str, Any]]]:
        return _run("evaluate", 3, [ds("s3://models", "detector")], [], {
            "evaluation": facet("EvaluationRunFacet",
                                model={"name": "detector", "version": version},
                                metrics=[{"name": "mAP", "value": 0.8}])})


@pytest.fixture()
def planted(db: Database) -> Planted:
    return Planted(db)


def _walk(client: TestClient, field: str, node_id: str, **args: str) -> dict[str, Any]:
    extra = "".join(f", {k}: {v}" for k, v in args.items())
    body = client.post("/graphql", json={"query": f"""query($id: ID!) {{
        {field}(nodeId: $id{extra}) {{ nodes {{ id kind name }} edges {{ source target kind }}
                                       truncated }} }}""", "variables": {"id": node_id}}).json()
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"][field]
    return found


def test_impact_of_a_scene_variant_names_only_the_model_version_that_read_it(
        client: TestClient, planted: Planted) -> None:
    found = _walk(client, "impact", planted.night_variant)
    ids = {n["id"] for n in found["nodes"]}
    assert planted.model["v2"] in ids and planted.eval_v2 in ids
    assert planted.model["v1"] not in ids, "impact overclaims: v1 never read the night frames"
    assert planted.eval_v1 not in ids and planted.train_v1 not in ids
    kinds = {n["kind"] for n in found["nodes"]}
    assert kinds == {"SCENE_VARIANT", "DATASET", "RUN", "DATASET_VERSION", "MODEL_VERSION"}
    edges = {(e["source"], e["target"], e["kind"]) for e in found["edges"]}
    assert (planted.train_v2, planted.model["v2"], "OUTPUT") in edges
    assert (planted.model["v2"], planted.eval_v2, "INPUT") in edges


def test_job_level_impact_is_kept_as_an_explicit_option(client: TestClient,
                                                       planted: Planted) -> None:
    found = _walk(client, "impact", planted.night_variant, level="JOB")
    ids = {n["id"] for n in found["nodes"]}
    # Walking dataset -> job -> dataset reaches both model versions stored in "detector".
    assert {planted.model["v1"], planted.model["v2"]} <= ids
    assert "job:ml:train" in ids


def test_version_lineage_upstream_of_a_model_is_what_its_run_read(client: TestClient,
                                                                  planted: Planted) -> None:
    v1 = _walk(client, "lineage", planted.model["v1"], direction="UPSTREAM", depth="10",
               level="VERSION")
    names = {n["name"] for n in v1["nodes"]}
    assert any(name.startswith("day@") for name in names)
    assert not any(name.startswith("night@") for name in names)
    assert planted.night_variant not in {n["id"] for n in v1["nodes"]}


def test_run_level_lineage_of_a_dataset_shows_runs_not_jobs(client: TestClient,
                                                            planted: Planted) -> None:
    found = _walk(client, "lineage", dataset_id("s3://frames", "night"), direction="DOWNSTREAM",
                  depth="1", level="RUN")
    assert {n["kind"] for n in found["nodes"]} == {"DATASET", "RUN"}
    assert planted.train_v2 in {n["id"] for n in found["nodes"]}
    assert planted.train_v1 not in {n["id"] for n in found["nodes"]}
    job = _walk(client, "lineage", dataset_id("s3://frames", "night"), direction="DOWNSTREAM",
                depth="1")  # no level: job level from a dataset, as before
    assert {n["kind"] for n in job["nodes"]} == {"DATASET", "JOB"}


def test_a_level_that_does_not_fit_the_start_is_a_clear_error(client: TestClient,
                                                              planted: Planted) -> None:
    body = client.post("/graphql", json={"query": """query($id: ID!) {
        lineage(nodeId: $id, level: JOB) { nodes { id } } }""",
        "variables": {"id": planted.train_v1}}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "start from the run's job" in body["errors"][0]["message"]
    unknown = client.post("/graphql", json={"query": """{
        impact(nodeId: "dataset:nowhere:x") { nodes { id } } }"""}).json()
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
