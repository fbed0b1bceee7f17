"""The labelingSchema dataset facet: labels made elsewhere link their dataset to labeling schema
versions, in either arrival order, and training runs reach those versions in lineage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openlineage.client.serde import Serde

from lineage_graph.db.connection import Database
from lineage_graph.emitter_facets import labeling_schema_facet
from lineage_graph.ids import labeling_schema_version_id, run_node_id
from lineage_graph.ingest.service import IngestService
from lineage_graph.lineage.service import Direction, LineageService
from lineage_graph.openlineage.facets import parse_facets
from tests.conftest import query, wipe
from tests.events import T0, ds, new_run_id, run_event

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "schema" / "facets"
                     / "LabelingSchemaDatasetFacet.json").read_text())
CREATE = """mutation($input: LabelingSchemaInput!) {
  createLabelingSchema(input: $input) { id version } }"""


def _create_schema(client: TestClient, options: list[str]) -> dict[str, Any]:
    body = client.post("/graphql", json={"query": CREATE, "variables": {"input": {
        "name": "defect_type", "type": "EXPECTATION", "title": "Which defect?",
        "input": {"kind": "CATEGORICAL", "options": options}}}}).json()
    assert "errors" not in body, body
    created: dict[str, Any] = body["data"]["createLabelingSchema"]
    return created


def _labeled_by_vendor(versions: dict[str, int], hour: int = 9) -> tuple[str, dict[str, Any]]:
    """A vendor import job writes a labels dataset carrying the labelingSchema facet."""
    labels = ds("s3://labels", "vendor/defects")
    labels["facets"]["labelingSchema"] = Serde.to_dict(labeling_schema_facet(versions))
    run_id = new_run_id()
    return run_id, run_event("COMPLETE", run_id, ("vendor", "import_labels"),
                             T0.replace(hour=hour), outputs=[labels])


def _training_reads_labels() -> tuple[str, dict[str, Any]]:
    run_id = new_run_id()
    return run_id, run_event("COMPLETE", run_id, ("train", "detector"), T0.replace(hour=11),
                             inputs=[ds("s3://labels", "vendor/defects")])


def _links(db: Database) -> list[dict[str, Any]]:
    return query(db, """
        MATCH (:Dataset {name: 'vendor/defects'})-[:LABELED_WITH]->(v:LabelingSchemaVersion)
        RETURN v.nodeId AS id, v.placeholder AS placeholder, v.title AS title
        ORDER BY id""")


@pytest.mark.parametrize("facet_first", [True, False])
def test_facet_links_the_dataset_to_the_schema_version_in_either_order(
        client: TestClient, db: Database, facet_first: bool) -> None:
    _, event = _labeled_by_vendor({"defect_type": 1})
    steps = [lambda: IngestService(db).ingest_raw([(event, None)]),
             lambda: _create_schema(client, ["scratch", "dent"])]
    for step in steps if facet_first else reversed(steps):
        step()
    assert _links(db) == [{"id": labeling_schema_version_id("defect_type", 1),
                           "placeholder": False, "title": "Which defect?"}]
    assert query(db, "MATCH (v:LabelingSchemaVersion) RETURN count(v) AS n") == [{"n": 1}]


def test_a_placeholder_is_not_a_schema_version_until_created(client: TestClient,
                                                             db: Database) -> None:
    IngestService(db).ingest_raw([(_labeled_by_vendor({"defect_type": 2})[1], None)])
    assert _links(db)[0]["placeholder"] is True
    lookup = '{ labelingSchema(name: "defect_type") { version } }'
    assert client.post("/graphql", json={"query": lookup}).json()["data"] == {
        "labelingSchema": None}
    assert _create_schema(client, ["scratch"])["version"] == 1
    assert _create_schema(client, ["scratch", "dent"])["version"] == 2
    assert _links(db) == [{"id": labeling_schema_version_id("defect_type", 2),
                           "placeholder": False, "title": "Which defect?"}]


def test_the_latest_facet_decides_the_versions_in_either_order(db: Database) -> None:
    _, early = _labeled_by_vendor({"defect_type": 1}, hour=8)
    _, late = _labeled_by_vendor({"defect_type": 2, "severity": 1}, hour=9)
    for order in ([early, late], [late, early]):
        wipe(db)
        for event in order:
            IngestService(db).ingest_raw([(event, None)])
        assert [link["id"] for link in _links(db)] == sorted([
            labeling_schema_version_id("defect_type", 2),
            labeling_schema_version_id("severity", 1)])


def test_training_reaches_the_schema_versions_in_lineage(client: TestClient,
                                                         db: Database) -> None:
    version = _create_schema(client, ["scratch", "dent"])
    _, labels = _labeled_by_vendor({"defect_type": 1})
    training_run, training = _training_reads_labels()
    IngestService(db).ingest_raw([(labels, None), (training, None)])
    found = LineageService(db, max_depth=10, max_limit=100).lineage(
        run_node_id(training_run), Direction.UPSTREAM, 3)
    assert found.nodes[version["id"]]["kind"] == "LABELING_SCHEMA_VERSION"


@pytest.mark.parametrize("payload", [
    {"schemas": [{"name": "defect_type", "version": 1}]},
    {"schemas": []},
    {"schemas": [{"name": "defect_type"}]},
    {"schemas": [{"name": "defect_type", "version": 0}]},
    {"schemas": [{"name": "defect_type", "version": "1"}]},
    {"schemas": [{"name": "", "version": 1}]},
])
def test_facet_model_agrees_with_its_json_schema(payload: dict[str, Any]) -> None:
    facet = {"_producer": "https://example.com", "_schemaURL": "https://example.com/s", **payload}
    [parsed] = parse_facets("dataset", {"labelingSchema": facet}, "facets")
    assert (not parsed.malformed) == Draft202012Validator(SCHEMA).is_valid(
        {"labelingSchema": facet}), parsed.error
