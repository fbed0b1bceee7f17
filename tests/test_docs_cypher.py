"""Every Cypher example in docs/graph-model.md runs against a real pipeline graph and returns
rows, so the documented model cannot rot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from lineage_graph.labeling.schemas import LabelingSchemaService, parse_definition
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from tests.conftest import SHARED, query
from tests.events import model_evaluation, model_training, pipeline

DOC = Path(__file__).resolve().parents[1] / "docs" / "graph-model.md"
BLOCKS = re.findall(r"```cypher\n(.*?)```", DOC.read_text(), flags=re.S)
STATEMENTS = [s.strip() for block in BLOCKS for s in block.split(";") if s.strip()]
EXPECT_EMPTY = {"Run {state: 'FAIL'}", "Facet {malformed: true}", "newer.createdAt > v.createdAt"}


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s.splitlines()[0][:60])
def test_documented_cypher_runs(ingest: IngestService, db: Database, statement: str) -> None:
    events = pipeline(n_runs=2)
    ingest.ingest_raw([(e, None) for e in events])
    kitchen = SHARED / "conformance" / "usd" / "kitchen" / "kitchen.usda"
    store_scene(db, read_scene(kitchen, all_variants=True).as_dict())
    [variant] = query(db, "MATCH (v:SceneVariant) RETURN v.nodeId AS id, v.sceneId AS scene, "
                          "v.selections AS selections LIMIT 1")
    ingest.ingest_raw([(e, None) for e in [
        *model_training("v1", "sha256:aaa", tensors={"embed": "sha256:e1", "head": "sha256:h1"}),
        *model_training("v2", "sha256:bbb", tensors={"embed": "sha256:e1", "head": "sha256:h2"}),
        model_evaluation("v1", [{"name": "mAP", "value": 0.7, "slice": {"sceneVariant": {
            "sceneId": variant["scene"], "selections": json.loads(variant["selections"])}}}]),
    ]])
    LabelingSchemaService(db).create(parse_definition({
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
    rows = query(db, statement, **params)
    if any(marker in statement for marker in EXPECT_EMPTY):
        return  # a question whose honest answer on this clean pipeline is "none"
    assert rows, statement
