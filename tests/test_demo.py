"""`lineage-graph demo`: the planted regression is found with reasons and evidence, re-running
changes nothing, and the forensic queries (impact, lineageDiff, sceneVariantDiff, lineage asOf)
answer on the demo graph through GraphQL."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx

from lineage_graph.demo.pipeline import VARIANTS, DemoPipeline
from lineage_graph.ids import dataset_id, model_version_id
from tests.conftest import DemoGraph, graph_snapshot, query


def _graphql(demo: DemoGraph, q: str, **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = httpx.post(f"{demo.url}/graphql", timeout=60, json={
        "query": q, "variables": variables}).json()
    return body


def _variant_id(demo: DemoGraph, key: str) -> str:
    [row] = query(demo.db, "MATCH (v:SceneVariant {sceneId: 'demo_warehouse', selections: $s}) "
                           "RETURN v.nodeId AS id", s=json.dumps(VARIANTS[key], sort_keys=True))
    return str(row["id"])


def test_the_planted_regression_is_the_top_suspect(demo_graph: DemoGraph) -> None:
    report = demo_graph.result.report
    assert report["regressed"] is True
    assert (report["baselineValue"], report["candidateValue"]) == (0.81, 0.74)
    # The documented answer (docs/forensics.md#ranking), in the order it is listed.
    assert [(s["rank"], s["kind"], round(s["score"], 3)) for s in report["suspects"][:4]] == [
        (1, "DATASET_VERSION", 0.326), (1, "JOB_CODE", 0.326),
        (3, "DATASET_VERSION", 0.023), (3, "LABELING_SCHEMA_VERSION", 0.023)]
    top = [s for s in report["suspects"] if s["rank"] == 1]
    assert {(s["kind"], s["node"]["name"].split("@")[0]) for s in top} == {
        ("DATASET_VERSION", "warehouse/night_wide"), ("JOB_CODE", "render_warehouse")}
    for suspect in top:
        assert "0.78 -> 0.52" in suspect["reason"], suspect["reason"]
        assert suspect["metricDelta"] == -0.26 or abs(suspect["metricDelta"] + 0.26) < 1e-9
    # The labeling change is listed, ranked below: no slice ties it to the drop.
    below = {s["kind"]: s for s in report["suspects"] if s["rank"] > 1}
    assert below["LABELING_SCHEMA_VERSION"]["node"]["name"] == "pallet_visible v2"
    assert below["LABELING_SCHEMA_VERSION"]["score"] < top[0]["score"]
    # Which scene variants fed the regression: the night variant whose frames were re-rendered.
    assert [v["id"] for v in report["implicatedSceneVariants"]] == [
        _variant_id(demo_graph, "night_wide")]
    assert report["implicatedSceneVariants"][0]["name"] == (
        "scene variant demo_warehouse layout=aisle_wide,lighting=night")
    # Evidence reads as steps with kinds and names, from the model back to the suspect.
    frames = next(s for s in top if s["kind"] == "DATASET_VERSION")
    [text] = frames["evidenceText"]
    steps = text.split(" <- ")
    assert steps[0] == "model detector v2"
    assert steps[1].startswith("run train_detector (2026-")
    assert steps[-1] == f"dataset version {frames['node']['name']}"
    # Every suspect has an evidence path from the model version to itself.
    for suspect in report["suspects"]:
        path = suspect["evidence"][0]
        assert path[0] == model_version_id("detector", "v2")
        assert path[-1] == suspect["node"]["id"]


def test_running_the_demo_again_changes_nothing(demo_graph: DemoGraph) -> None:
    before = graph_snapshot(demo_graph.db)
    events = query(demo_graph.db, "MATCH (e:Event) RETURN count(e) AS n")
    again = DemoPipeline(demo_graph.url, demo_graph.workdir).run()
    assert graph_snapshot(demo_graph.db) == before
    assert query(demo_graph.db, "MATCH (e:Event) RETURN count(e) AS n") == events
    assert again.report == demo_graph.result.report


def test_the_cli_prints_the_forensic_answer(demo_graph: DemoGraph) -> None:
    done = subprocess.run([sys.executable, "-m", "lineage_graph.cli", "demo", "--api",
                           demo_graph.url], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "regressed: True" in done.stdout
    assert "#1" in done.stdout and "render_warehouse" in done.stdout
    assert "Scene variants that fed the regression" in done.stdout
    assert "scene variant demo_warehouse layout=aisle_wide,lighting=night" in done.stdout
    assert "model detector v2 <- run train_detector (" in done.stdout
    assert f"{demo_graph.url}/graphql?q=" in done.stdout
    assert "MATCH (:ModelVersion {name: 'detector', version: 'v2'})" in done.stdout


def test_impact_of_a_scene_variant_reaches_models_and_evaluations(demo_graph: DemoGraph
                                                                  ) -> None:
    """Both detector versions trained on night frames (v1 on the first render, v2 on the
    re-render): version-accurate impact names both, with the frames versions between."""
    body = _graphql(demo_graph, """query($id: ID!) { impact(nodeId: $id, depth: 10) {
        nodes { id kind name } truncated } }""", id=_variant_id(demo_graph, "night_wide"))
    nodes = body["data"]["impact"]["nodes"]
    ids = {n["id"] for n in nodes}
    assert {model_version_id("detector", "v1"), model_version_id("detector", "v2")} <= ids
    frames = sorted(n["name"].split("@")[0] for n in nodes if n["kind"] == "DATASET_VERSION"
                    and n["name"].startswith("warehouse/night_wide@"))
    assert frames == ["warehouse/night_wide", "warehouse/night_wide"]  # both renders
    names = {n["name"] for n in nodes}
    assert not any(name.startswith("warehouse/holdout") for name in names)  # not downstream
    evaluations = query(demo_graph.db, "MATCH (r:Run)-[:EVALUATED]->() RETURN r.runId AS id")
    assert {r["id"] for r in evaluations} <= ids


def test_lineage_diff_of_the_two_model_versions(demo_graph: DemoGraph) -> None:
    body = _graphql(demo_graph, """query($a: ID!, $b: ID!) { lineageDiff(a: $a, b: $b) {
        onlyInA { kind name } onlyInB { kind name } common } }""",
                    a=model_version_id("detector", "v2"), b=model_version_id("detector", "v1"))
    diff = body["data"]["lineageDiff"]
    only_a = {(n["kind"], n["name"].split("@")[0]) for n in diff["onlyInA"]}
    assert {("DATASET_VERSION", "warehouse/night_wide"),
            ("LABELING_SCHEMA_VERSION", "pallet_visible v2"),
            ("MODEL_VERSION", "detector")} <= only_a  # v2's base model is v1
    # v2 is a fine-tune of v1: all of v1's provenance is upstream of v2 too.
    assert diff["onlyInB"] == []
    assert diff["common"] > 5  # the day frames, the scene variants, the scene
    reverse = _graphql(demo_graph, """query($a: ID!, $b: ID!) { lineageDiff(a: $a, b: $b) {
        onlyInA { id } onlyInB { kind name } } }""", a=model_version_id("detector", "v1"),
                       b=model_version_id("detector", "v2"))["data"]["lineageDiff"]
    assert reverse["onlyInA"] == []
    assert ("LABELING_SCHEMA_VERSION", "pallet_visible v2") in {
        (n["kind"], n["name"]) for n in reverse["onlyInB"]}


def test_scene_variant_diff(demo_graph: DemoGraph) -> None:
    body = _graphql(demo_graph, """query($a: ID!, $b: ID!) { sceneVariantDiff(a: $a, b: $b) {
        selectionChanges { variantSet a b } primsOnlyInA primsOnlyInB commonPrims } }""",
                    a=_variant_id(demo_graph, "day_wide"), b=_variant_id(demo_graph, "day_narrow"))
    diff = body["data"]["sceneVariantDiff"]
    assert diff["selectionChanges"] == [
        {"variantSet": "layout", "a": "aisle_wide", "b": "aisle_narrow"}]
    assert diff["primsOnlyInA"] == [] and diff["primsOnlyInB"] == ["/World/Shelf_03"]
    assert diff["commonPrims"] > 5
    missing = _graphql(demo_graph, """{ sceneVariantDiff(a: "nope", b: "nope") {
        commonPrims } }""")
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "a: no scene variant" in missing["errors"][0]["message"]


def test_lineage_as_of_shows_only_what_was_known(demo_graph: DemoGraph) -> None:
    q = """query($at: DateTime) { lineage(nodeId: "job:physical-ai:train_detector",
            direction: DOWNSTREAM, depth: 1, asOf: $at) { nodes { id } } }"""
    v2 = dataset_id("s3://models", "detector/v2")
    v1 = dataset_id("s3://models", "detector/v1")
    before_v2 = {n["id"] for n in _graphql(demo_graph, q, at="2026-11-05T00:00:00Z")[
        "data"]["lineage"]["nodes"]}
    now = {n["id"] for n in _graphql(demo_graph, q, at=None)["data"]["lineage"]["nodes"]}
    assert v1 in before_v2 and v2 not in before_v2
    assert {v1, v2} <= now
    before_all = _graphql(demo_graph, q, at="2026-01-01T00:00:00Z")["data"]["lineage"]["nodes"]
    assert [n["id"] for n in before_all] == ["job:physical-ai:train_detector"]
    naive = _graphql(demo_graph, q, at="2026-11-05T00:00:00")
    assert naive.get("errors"), naive


def test_unknown_model_version_or_metric_is_named(demo_graph: DemoGraph) -> None:
    q = """query($v: String!, $b: String!, $m: String!) {
      regressionSuspects(model: "detector", version: $v, baseline: $b, metric: $m) { delta } }"""
    cases = [({"v": "v9", "b": "v1", "m": "mAP"}, "version: no model version detector@v9"),
             ({"v": "v2", "b": "v0", "m": "mAP"}, "baseline: no model version detector@v0"),
             ({"v": "v2", "b": "v1", "m": "recall"}, "no metric 'recall' (it has: mAP)")]
    for variables, message in cases:
        body = _graphql(demo_graph, q, **variables)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND"
        assert message in error["message"], error["message"]
