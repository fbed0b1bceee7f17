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
C = {"layout": "aisle_narrow", "lighting": "day"}
VARIANTS = {"A": A, "B": B, "C": C}


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


def _evaluate(version: str, day: int, overall: float | None,
              slices: dict[str, float] | None = None, metric: str = "mAP",
              higher: bool = True) -> list[dict[str, Any]]:
    metrics: list[dict[str, Any]] = [] if overall is None else [
        {"name": metric, "value": overall, "higherIsBetter": higher}]
    for key, value in (slices or {}).items():
        metrics.append({"name": metric, "value": value, "higherIsBetter": higher, "slice": {
            "sceneVariant": {"sceneId": "warehouse", "selections": VARIANTS[key]}}})
    return _run("evaluate", day, [ds("s3://models", f"detector/{version}")], [], {
        "evaluation": facet("EvaluationRunFacet", model={"name": "detector", "version": version},
                            metrics=metrics)})


def _suspects(db: Database, events: list[dict[str, Any]], metric: str = "mAP",
              tolerance: float = 0.0) -> RegressionReport:
    result = IngestService(db).ingest_raw([(e, None) for e in events])
    assert result.count("rejected") == 0
    return RegressionService(db, max_depth=20, max_limit=100).regression_suspects(
        "detector", "v2", "v1", metric, tolerance=tolerance)


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
    # The variant, the frames rendered from it and the scene dataset it came through carry the
    # same evidence: they tie, listed by kind (variant, dataset version, dataset), and nothing
    # else is suspected.
    assert [(s.rank, s.kind) for s in report.suspects] == [
        (1, "SCENE_VARIANT"), (1, "DATASET_VERSION"), (1, "DATASET")]
    variant = report.suspects[0]
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


def test_equal_scores_share_a_rank_and_the_next_rank_counts_them(db: Database) -> None:
    common = _read("s3://lake", "common", 1000)
    events = [*_train("v1", 1, [common]),
              *_train("v2", 2, [common, _read("s3://lake", "left", 450),
                                _read("s3://lake", "right", 450),
                                _read("s3://lake", "small", 100)]),
              *_evaluate("v1", 3, 0.80), *_evaluate("v2", 3, 0.60)]
    report = _suspects(db, events)
    # Listed as returned: equal scores by name within their shared rank.
    assert [(s.rank, s.node["name"]) for s in report.suspects] == [
        (1, "left"), (1, "right"), (3, "small")]
    assert [s.score for s in report.suspects] == pytest.approx([0.3 * 0.225, 0.3 * 0.225,
                                                                0.3 * 0.05])


def test_a_drop_within_the_tolerance_is_no_regression(db: Database) -> None:
    common = _read("s3://lake", "common", 1000)
    events = [*_train("v1", 1, [common]),
              *_train("v2", 2, [common, _read("s3://lake", "big", 900)]),
              *_evaluate("v1", 3, 0.80), *_evaluate("v2", 3, 0.78)]
    within = _suspects(db, events, tolerance=0.05)
    assert within.regressed is False and within.suspects[0].score == 0.0
    service = RegressionService(db, max_depth=20, max_limit=100)
    beyond = service.regression_suspects("detector", "v2", "v1", "mAP", tolerance=0.01)
    assert beyond.regressed is True and beyond.suspects[0].score > 0
    assert beyond.suspects[0].score == pytest.approx(0.3 * 900 / 1900, abs=1e-6)


def test_without_overall_values_the_mean_over_slices_both_measured_counts(db: Database) -> None:
    events = [*_render("A", A), *_render("B", B), *_render("C", C),
              *_train("v1", 1, [_read("s3://frames", "A", 1000)]),
              *_train("v2", 2, [_read("s3://frames", "A", 1000), _read("s3://frames", "B", 1000)]),
              # No slice-less metric; slice C only measured on v2, so it is left out.
              *_evaluate("v1", 3, None, {"A": 0.80, "B": 0.70}),
              *_evaluate("v2", 3, None, {"A": 0.80, "B": 0.40, "C": 0.10})]
    report = _suspects(db, events)
    assert report.baseline_value == pytest.approx(0.75)
    assert report.candidate_value == pytest.approx(0.60)
    assert report.regressed


def test_without_row_counts_the_share_is_by_number_of_inputs(db: Database) -> None:
    # "big" reports its rows, the other inputs do not: shares fall back to input counts.
    events = [*_train("v1", 1, [ds("s3://lake", "common")]),
              *_train("v2", 2, [ds("s3://lake", "common"), _read("s3://lake", "big", 900_000),
                                ds("s3://lake", "other")]),
              *_evaluate("v1", 3, 0.80), *_evaluate("v2", 3, 0.60)]
    report = _suspects(db, events)
    assert [(s.rank, s.node["name"]) for s in report.suspects] == [(1, "big"), (1, "other")]
    assert [s.score for s in report.suspects] == pytest.approx([0.3 / 3, 0.3 / 3])
