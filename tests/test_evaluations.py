"""The evaluation run facet: metrics per slice linked to the model version, the evaluation run
and scene variants, whatever the arrival order; the latest facet of a run wins; GraphQL
ModelVersion.metrics."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openlineage.client.serde import Serde

from lineage_graph.db.connection import Database
from lineage_graph.emitter_facets import SliceMetric, evaluation_facet
from lineage_graph.ids import model_version_id
from lineage_graph.ingest.service import IngestService
from lineage_graph.lineage.service import Direction, LineageService
from lineage_graph.openlineage.facets import parse_facets
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from tests.conftest import SHARED, graph_snapshot, query, wipe
from tests.events import T0, ds, model_training, new_run_id, run_event

WAREHOUSE = SHARED / "conformance" / "usd" / "warehouse" / "warehouse.usda"
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "schema" / "facets"
                     / "EvaluationRunFacet.json").read_text())
NIGHT = {"layout": "aisle_wide", "lighting": "night"}
DAY = {"layout": "aisle_wide", "lighting": "day"}


def _evaluation(version: str, metrics: list[SliceMetric]) -> dict[str, Any]:
    payload: dict[str, Any] = Serde.to_dict(evaluation_facet(
        ("detector", version), metrics, dataset=("s3://lake", "eval/holdout")))
    return payload


def _eval_run(version: str, metrics: list[SliceMetric], run_id: str | None = None,
              event_type: str = "COMPLETE", hour: int = 12) -> dict[str, Any]:
    return run_event(event_type, run_id or new_run_id(), ("eval", "detector"),
                     T0.replace(hour=hour), inputs=[ds("s3://models", f"detector/{version}"),
                                                    ds("s3://lake", "eval/holdout")],
                     run_facets={"evaluation": _evaluation(version, metrics)})


V2_METRICS = [
    SliceMetric("mAP", 0.71, higher_is_better=True),
    SliceMetric("mAP", 0.52, True, {"weather": "rain"}, ("warehouse", NIGHT)),
    SliceMetric("mAP", 0.80, True, scene_variant=("warehouse", DAY)),
    SliceMetric("latency_ms", 41.5, higher_is_better=False, dimensions={"batch": 8}),
]


def _metrics(db: Database) -> list[dict[str, Any]]:
    return query(db, """
        MATCH (m:ModelVersion)-[:HAS_METRIC]->(x:Metric)<-[:MEASURED]-(r:Run)
        OPTIONAL MATCH (x)-[:FOR_SCENE_VARIANT]->(v:SceneVariant)
        RETURN m.version AS model, x.name AS name, x.value AS value,
               x.higherIsBetter AS higher, x.dimensions AS dimensions,
               v.selections AS variant, v.placeholder AS placeholder, r.state AS run
        ORDER BY name, value""")


def test_metrics_link_model_run_and_scene_variants_in_any_arrival_order(
        session_db: Database) -> None:
    training = model_training("v2", "sha256:bbb")
    evaluation = [_eval_run("v2", V2_METRICS)]
    scene = read_scene(WAREHOUSE, all_variants=True).as_dict()
    steps = {
        "training": lambda: IngestService(session_db).ingest_raw([(e, None) for e in training]),
        "evaluation": lambda: IngestService(session_db).ingest_raw(
            [(e, None) for e in evaluation]),
        "scene": lambda: store_scene(session_db, scene),
    }
    snapshots = []
    for order in itertools.permutations(steps):
        wipe(session_db)
        for step in order:
            steps[step]()
        rows = _metrics(session_db)
        assert [(r["name"], r["value"], r["model"], r["run"]) for r in rows] == [
            ("latency_ms", 41.5, "v2", "COMPLETE"), ("mAP", 0.52, "v2", "COMPLETE"),
            ("mAP", 0.71, "v2", "COMPLETE"), ("mAP", 0.80, "v2", "COMPLETE")], order
        by_value = {r["value"]: r for r in rows}
        assert by_value[0.52]["variant"] == json.dumps(NIGHT, sort_keys=True)
        assert by_value[0.52]["dimensions"] == json.dumps({"weather": "rain"})
        assert by_value[0.80]["variant"] == json.dumps(DAY, sort_keys=True)
        assert by_value[0.71]["variant"] is None and by_value[0.71]["higher"] is True
        assert by_value[41.5]["higher"] is False
        assert {by_value[v]["placeholder"] for v in (0.52, 0.80)} == {False}
        # The model version made by the evaluation (placeholder) was joined by the training.
        [model] = query(session_db, "MATCH (m:ModelVersion) RETURN m.digest AS digest, "
                                    "COUNT { (m)<-[:TRAINED]-() } AS trained")
        assert model == {"digest": "sha256:bbb", "trained": 1}
        snapshots.append(graph_snapshot(session_db))
    assert all(s == snapshots[0] for s in snapshots[1:])


def test_the_latest_evaluation_facet_of_a_run_wins_in_any_order(session_db: Database) -> None:
    run_id = new_run_id()
    early = _eval_run("v2", [SliceMetric("mAP", 0.10)], run_id, "START", hour=11)
    late = _eval_run("v2", [SliceMetric("mAP", 0.70), SliceMetric("recall", 0.6)], run_id,
                     "COMPLETE", hour=12)
    for order in ([early, late], [late, early]):
        wipe(session_db)
        for event in order:
            IngestService(session_db).ingest_raw([(event, None)])
        assert [(r["name"], r["value"]) for r in _metrics(session_db)] == [
            ("mAP", 0.70), ("recall", 0.6)]


def test_resending_an_evaluation_changes_no_metric(db: Database) -> None:
    run_id = new_run_id()
    event = _eval_run("v2", V2_METRICS, run_id, "RUNNING", hour=12)
    IngestService(db).ingest_raw([(event, None)])
    before = query(db, "MATCH (x:Metric) RETURN x.metricId AS id, x.value AS v ORDER BY id")
    assert len(before) == 4
    later = _eval_run("v2", V2_METRICS, run_id, "COMPLETE", hour=13)
    result = IngestService(db).ingest_raw([(event, None), (later, None)])
    assert [o.status for o in result.outcomes] == ["duplicate", "accepted"]
    assert query(db, "MATCH (x:Metric) RETURN x.metricId AS id, x.value AS v "
                     "ORDER BY id") == before


def test_a_malformed_evaluation_facet_is_kept_raw_and_makes_no_metric(db: Database) -> None:
    event = _eval_run("v2", [SliceMetric("mAP", 0.5)])
    event["run"]["facets"]["evaluation"]["metrics"][0]["value"] = "0.5"
    [outcome] = IngestService(db).ingest_raw([(event, None)]).outcomes
    assert outcome.status == "accepted"
    [warning] = outcome.warnings
    assert warning["facet"] == "run.facets.evaluation"
    assert warning["problem"].startswith("metrics[0].value:"), warning
    assert query(db, "MATCH (x:Metric) RETURN count(x) AS n") == [{"n": 0}]


@pytest.mark.parametrize("change", [
    {},
    {"metrics": []},
    {"model": {"name": "detector"}},
    {"metrics": [{"name": "mAP", "value": "high"}]},
    {"metrics": [{"name": "mAP", "value": 1, "slice": {"sceneVariant": {"selections": {}}}}]},
    {"metrics": [{"name": "mAP", "value": 1, "slice": {"dimensions": {"w": [1]}}}]},
    {"metrics": [{"name": "", "value": 1}]},
    {"dataset": {"namespace": "s3://lake"}},
])
def test_facet_model_agrees_with_its_json_schema(change: dict[str, Any]) -> None:
    facet = {**_evaluation("v2", V2_METRICS), **change}
    [parsed] = parse_facets("run", {"evaluation": facet}, "run.facets")
    assert (not parsed.malformed) == Draft202012Validator(SCHEMA).is_valid(
        {"evaluation": facet}), parsed.error


def test_lineage_reaches_the_evaluation_run_downstream_of_training_data(db: Database) -> None:
    IngestService(db).ingest_raw([(e, None) for e in [*model_training("v2", "sha256:bbb"),
                                                      _eval_run("v2", V2_METRICS)]])
    service = LineageService(db, max_depth=10, max_limit=100)
    model = model_version_id("detector", "v2")
    found = service.lineage(model, Direction.DOWNSTREAM, 1)
    [eval_run] = [nid for nid, n in found.nodes.items() if n["kind"] == "RUN"]
    assert (model, eval_run) in {(s, t) for s, t, _ in found.edges}
    upstream = service.lineage(eval_run, Direction.UPSTREAM, 10)
    assert {n.get("name") for n in upstream.nodes.values()} >= {"frames/train", "detector"}


def test_graphql_metrics_of_a_model_version(client: TestClient, db: Database) -> None:
    store_scene(db, read_scene(WAREHOUSE, all_variants=True).as_dict())
    IngestService(db).ingest_raw([(e, None) for e in [*model_training("v2", "sha256:bbb"),
                                                      _eval_run("v2", V2_METRICS)]])
    body = client.post("/graphql", json={"query": """
      { modelVersion(name: "detector", version: "v2") {
          mAP: metrics(name: "mAP") { name value higherIsBetter
            slice { dimensions sceneVariant { selections { set option } } }
            run { state job { name } } }
          all: metrics { name } } }"""}).json()
    model = body["data"]["modelVersion"]
    assert sorted(m["name"] for m in model["all"]) == ["latency_ms", "mAP", "mAP", "mAP"]
    by_value = {m["value"]: m for m in model["mAP"]}
    assert by_value[0.71]["slice"] is None
    assert by_value[0.52]["slice"]["dimensions"] == {"weather": "rain"}
    assert by_value[0.52]["slice"]["sceneVariant"]["selections"] == [
        {"set": "layout", "option": "aisle_wide"}, {"set": "lighting", "option": "night"}]
    assert by_value[0.80]["run"] == {"state": "COMPLETE", "job": {"name": "detector"}}


def test_placeholders_named_only_by_a_superseded_facet_do_not_remain(db: Database) -> None:
    run_id = new_run_id()
    early = _eval_run("v9", [SliceMetric("mAP", 0.1, scene_variant=("unknown_scene", DAY))],
                      run_id, "START", hour=11)
    late = _eval_run("v2", [SliceMetric("mAP", 0.7)], run_id, "COMPLETE", hour=12)
    for event in (early, late):
        IngestService(db).ingest_raw([(event, None)])
    assert query(db, "MATCH (m:ModelVersion) RETURN m.version AS v") == [{"v": "v2"}]
    assert query(db, "MATCH (v:SceneVariant) RETURN count(v) AS n") == [{"n": 0}]
