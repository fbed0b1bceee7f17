"""Every Cypher example in docs/graph-model.md runs against a real pipeline graph and gives the
answer that graph must give, so the documented model cannot rot."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from lineage_graph.labeling.schemas import LabelingSchemaService, parse_definition
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from tests.conftest import SHARED, query, wipe
from tests.events import (
    T0,
    facet,
    model_evaluation,
    model_training,
    new_run_id,
    pipeline,
    run_event,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "graph-model.md"
BLOCKS = re.findall(r"```cypher\n(.*?)```", DOC.read_text(), flags=re.S)
STATEMENTS = [s.strip() for block in BLOCKS for s in block.split(";") if s.strip()]


@dataclass
class Built:
    db: Database
    events: list[dict[str, Any]]
    params: dict[str, Any]
    variant: dict[str, Any]
    failed_run: str
    odd_run: str


@pytest.fixture(scope="module")
def built(session_db: Database) -> Built:
    """A nightly pipeline (two nights), one failed run with its error and one malformed facet,
    a USD scene, two model versions sharing a tensor, an evaluation on a scene variant and a
    labeling schema."""
    wipe(session_db)
    ingest = IngestService(session_db)
    events = pipeline(n_runs=2)
    failed, odd = new_run_id(), new_run_id()
    events += [run_event("FAIL", failed, ("spark", "stage_1"), T0 + timedelta(days=3),
                         run_facets={"errorMessage": facet("ErrorMessageRunFacet",
                                                           message="disk full",
                                                           programmingLanguage="python")},
                         job_facets={"sql": facet("SQLJobFacet", query="SELECT 1")}),
               run_event("COMPLETE", odd, ("spark", "odd"), T0, run_facets={
                   "nominalTime": facet("NominalTimeRunFacet", nominalStartTime="not a time")})]
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == len(events)
    kitchen = SHARED / "conformance" / "usd" / "kitchen" / "kitchen.usda"
    store_scene(session_db, read_scene(kitchen, all_variants=True).as_dict())
    [variant] = query(session_db, "MATCH (v:SceneVariant) RETURN v.nodeId AS id, "
                      "v.sceneId AS scene, v.selections AS selections, v.primCount AS prims "
                      "ORDER BY v.nodeId LIMIT 1")
    models = [
        *model_training("v1", "sha256:aaa", tensors={"embed": "sha256:e1", "head": "sha256:h1"}),
        *model_training("v2", "sha256:bbb", tensors={"embed": "sha256:e1", "head": "sha256:h2"}),
        model_evaluation("v1", [{"name": "mAP", "value": 0.7, "slice": {"sceneVariant": {
            "sceneId": variant["scene"], "selections": json.loads(variant["selections"])}}}]),
    ]
    ingest.ingest_raw([(e, None) for e in models])
    LabelingSchemaService(session_db).create(parse_definition({
        "name": "defect", "type": "FEEDBACK", "title": "Defect?",
        "input": {"kind": "CATEGORICAL", "options": ["yes", "no"]}}))
    params = {
        "runId": events[3]["run"]["runId"],
        "parentRunId": events[0]["run"]["runId"],
        "id": "dataset:s3://lake:features.frames",
        "variantId": variant["id"],
        "schemaName": "defect",
        "modelVersion": "v1",
    }
    return Built(session_db, [*events, *models], params, variant, failed, odd)


LAKE = "dataset:s3://lake:"


def _stage_runs(b: Built) -> list[tuple[str, str, str]]:
    """(job, runId, state) of the pipeline's child runs, from the events sent."""
    runs = {(e["job"]["name"], e["run"]["runId"]) for e in b.events
            if e["job"]["namespace"] == "spark" and "parent" in e["run"]["facets"]}
    return sorted((job, run, "COMPLETE") for job, run in runs)


# One expected answer per documented statement, picked by a phrase unique to it.
CHECKS: dict[str, Callable[[list[dict[str, Any]], Built], bool]] = {
    "(has.inDefault": lambda rows, b: len(rows) == b.variant["prims"] > 0
    and [r["p.path"] for r in rows] == sorted(r["p.path"] for r in rows),
    "v.changes, v.createdAt": lambda rows, b: [r["v.version"] for r in rows] == [1],
    "OPTIONAL MATCH (r)-[:READ_VERSION]": lambda rows, b: rows == [
        {"d.nodeId": LAKE + "frames/train", "v.version": None}],
    "FOR_SCENE_VARIANT": lambda rows, b: rows == [
        {"v.sceneId": b.variant["scene"], "v.selections": b.variant["selections"],
         "x.value": 0.7}],
    "count(DISTINCT t) AS shared": lambda rows, b: rows == [
        {"other.name": "detector", "other.version": "v2", "shared": 1}],
    "{1,5}": lambda rows, b: sorted(r["path"] for r in rows) == [
        [LAKE + "features.frames", "job:spark:stage_1", LAKE + "clean.frames"],
        [LAKE + "features.frames", "job:spark:stage_1", LAKE + "clean.frames",
         "job:spark:stage_0", LAKE + "raw.frames"]],
    "writer.runId": lambda rows, b: [(r["d.name"], r["writer.runId"]) for r in rows] == [
        ("clean.frames", b.events[1]["run"]["runId"])],
    "DERIVED_FROM]->+": lambda rows, b: rows == [
        {"src.nodeId": LAKE + "raw.frames", "origin.name": "ts"}],
    "state: 'FAIL'": lambda rows, b: [(r["r.runId"], r["r.errorMessage"], r["j.sql"])
                                      for r in rows] == [(b.failed_run, "disk full",
                                                          "SELECT 1")],
    "name: 'schema'": lambda rows, b: [[f["name"] for f in json.loads(r["f.payload"])["fields"]]
                                       for r in rows] == [["frame_id", "ts"]],
    "malformed: true": lambda rows, b: [(r["n.nodeId"], r["f.name"]) for r in rows] == [
        (b.odd_run, "nominalTime")] and "nominalStartTime" in rows[0]["f.error"],
    "CHILD_OF": lambda rows, b: sorted((r["j.name"], r["c.runId"], r["c.state"])
                                       for r in rows) == _stage_runs(b),
    # The record: every event sent, then the scene and the labeling schema, gap-free.
    "MATCH (e:Event)": lambda rows, b: [r["e.seq"] for r in rows] == list(
        range(1, len(b.events) + 3))
    and sum(r["e.kind"] == "RunEvent" for r in rows) == len(b.events),
}


def _check_for(statement: str) -> Callable[[list[dict[str, Any]], Built], bool]:
    [check] = [c for phrase, c in CHECKS.items() if phrase in statement]
    return check


def test_every_documented_statement_has_one_check() -> None:
    for statement in STATEMENTS:
        assert sum(phrase in statement for phrase in CHECKS) == 1, statement
    assert len(CHECKS) == len(STATEMENTS)


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s.splitlines()[0][:60])
def test_documented_cypher_answers_as_expected(built: Built, statement: str) -> None:
    rows = query(built.db, statement, **built.params)
    assert _check_for(statement)(rows, built), (statement, rows)
