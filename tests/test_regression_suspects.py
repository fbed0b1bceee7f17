"""regressionSuspects ranks planted causes first (docs/forensics.md#ranking): slice evidence
weighs most, then the share of training data; equal evidence ties; no regression, no claim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lineage_graph.db.connection import Database
from lineage_graph.forensics.regression import RegressionReport, RegressionService
from lineage_graph.ingest.service import IngestService
from tests.events import T0, ds, facet, new_run_id, run_event

A = {"layout": "aisle_wide", "lighting": "day"}
B = {"layout": "aisle_wide", "lighting": "night"}


def _scene_ds(key: str, selections: dict[str, str]) -> dict[str, Any]:
    scene = ds("usd://warehouse", f"warehouse/{key}")
    scene["facets"]["usdScene"] = facet("UsdSceneDatasetFacet", sceneId="warehouse",
                                        rootLayer="warehouse.usda",
                                        variantSelections=selections)
    return scene


def _read(namespace: str, name: str, rows: int) -> dict[str, Any]:
    dataset = ds(namespace, name)
    dataset["inputFacets"] = {"inputStatistics": facet("InputStatisticsInputDatasetFacet",
                                                       rowCount=rows)}
    return dataset


def _run(job: str, day: int, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]],
         run_facets: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    run_id = new_run_id()
    at = T0 + timedelta(days=day)
    return [run_event("START", run_id, ("ml", job), at, inputs, outputs, run_facets),
            run_event("COMPLETE", run_id, ("ml", job), at + timedelta(hours=1), inputs, outputs,
                      run_facets)]


def _train(version: str, day: int, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    model = ds("s3://models", f"detector/{version}")
    model["facets"]["mlModel"] = facet("MlModelDatasetFacet", name="detector", version=version,
                                       digest=f"sha256:{version}")
    return _run("train", day, inputs, [model])


def _evaluate(version: str, day: int, overall: float,
              slices: dict[str, float] | None = None, metric: str = "mAP",
              higher: bool = True) -> list[dict[str, Any]]:
    metrics: list[dict[str, Any]] = [{"name": metric, "value": overall, "higherIsBetter": higher}]
    for key, value in (slices or {}).items():
        metrics.append({"name": metric, "value": value, "higherIsBetter": higher, "slice": {
            "sceneVariant": {"sceneId": "warehouse", "selections": {"A": A, "B": B}[key]}}})
    return _run("evaluate", day, [ds("s3://models", f"detector/{version}")], [], {
        "evaluation": facet("EvaluationRunFacet", model={"name": "detector", "version": version},
                            metrics=metrics)})


def _suspects(db: Database, events: list[dict[str, Any]], metric: str = "mAP"
              ) -> RegressionReport:
    result = IngestService(db).ingest_raw([(e, None) for e in events])
    assert result.count("rejected") == 0
    return RegressionService(db, max_depth=20, max_limit=100).regression_suspects(
        "detector", "v2", "v1", metric)


def _render(key: str, selections: dict[str, str], day: int = 0) -> list[dict[str, Any]]:
    return _run("render", day, [_scene_ds(key, selections)], [ds("s3://frames", key)])


def test_a_new_scene_variant_behind_the_dropped_slice_ranks_first(db: Database) -> None:
    events = [*_render("A", A), *_render("B", B),
              *_train("v1", 1, [_read("s3://frames", "A", 1000)]),
              *_train("v2", 2, [_read("s3://frames", "A", 1000), _read("s3://frames", "B", 3000)]),
              *_evaluate("v1", 3, 0.80, {"A": 0.80, "B": 0.70}),
              *_evaluate("v2", 3, 0.70, {"A": 0.81, "B": 0.40})]
    report = _suspects(db, events)
    assert report.regressed and report.delta == pytest.approx(-0.10)
    first = [s for s in report.suspects if s.rank == 1]
    # The variant, the scene dataset it came through and the frames rendered from it carry the
    # same evidence: they tie, and nothing else is suspected.
    assert sorted(s.kind for s in first) == ["DATASET", "DATASET_VERSION", "SCENE_VARIANT"]
    assert len(report.suspects) == 3
    variant = next(s for s in first if s.kind == "SCENE_VARIANT")
    assert variant.slice is not None and variant.slice.selections == B
    # 0.7 * (0.30 / 0.70 drop on slice B) + 0.3 * (3000 of 4000 rows)
    assert variant.score == pytest.approx(0.7 * (0.3 / 0.7) + 0.3 * 0.75, abs=1e-6)
    assert variant.metric_delta == pytest.approx(-0.30)
    assert "0.7 -> 0.4" in variant.reason and "75% of the training data" in variant.reason
    assert variant.evidence[0][0] == "model:detector@v2"
    assert variant.evidence[0][-1] == variant.node["nodeId"]


def test_without_slice_evidence_the_larger_share_of_training_data_ranks_first(
        db: Database) -> None:
    common = _read("s3://lake", "common", 1000)
    events = [*_train("v1", 1, [common]),
              *_train("v2", 2, [common, _read("s3://lake", "big", 900),
                                _read("s3://lake", "small", 100)]),
              *_evaluate("v1", 3, 0.80), *_evaluate("v2", 3, 0.60)]
    report = _suspects(db, events)
    assert [(s.rank, s.node["name"]) for s in report.suspects] == [(1, "big"), (2, "small")]
    assert [s.score for s in report.suspects] == pytest.approx([0.3 * 0.45, 0.3 * 0.05])
    assert all(s.slice is None and s.metric_delta is None for s in report.suspects)


def test_no_regression_claims_no_suspect(db: Database) -> None:
    common = _read("s3://lake", "common", 1000)
    events = [*_train("v1", 1, [common]),
              *_train("v2", 2, [common, _read("s3://lake", "big", 900)]),
              *_evaluate("v1", 3, 0.80), *_evaluate("v2", 3, 0.85)]
    report = _suspects(db, events)
    assert report.regressed is False
    assert [(s.rank, s.score) for s in report.suspects] == [(1, 0.0)]
    assert "did not regress" in report.suspects[0].reason


def test_lower_is_better_metrics_regress_upwards(db: Database) -> None:
    common = _read("s3://lake", "common", 1000)
    events = [*_train("v1", 1, [common]),
              *_train("v2", 2, [common, _read("s3://lake", "big", 900)]),
              *_evaluate("v1", 3, 0.10, metric="error_rate", higher=False),
              *_evaluate("v2", 3, 0.20, metric="error_rate", higher=False)]
    report = _suspects(db, events, metric="error_rate")
    assert report.regressed and not report.higher_is_better
    assert report.suspects[0].score > 0


def test_the_latest_evaluation_of_a_slice_counts(db: Database) -> None:
    common = _read("s3://lake", "common", 1000)
    events = [*_train("v1", 1, [common]),
              *_train("v2", 2, [common, _read("s3://lake", "big", 900)]),
              *_evaluate("v1", 3, 0.80), *_evaluate("v2", 3, 0.60),
              *_evaluate("v2", 4, 0.82)]  # re-evaluated: no regression after all
    report = _suspects(db, events)
    assert report.candidate_value == 0.82 and report.regressed is False
