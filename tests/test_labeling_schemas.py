"""Labeling schemas through GraphQL against the real Neo4j: immutable versions, what changed,
and every definition rule."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.labeling.schemas import changed_fields
from tests.conftest import query

CREATE = """
mutation($input: LabelingSchemaInput!) {
  createLabelingSchema(input: $input) {
    id name version type title input { kind options min max maxLength maxCount }
    enableComment changes
  }
}"""


def _create(client: TestClient, **definition: Any) -> dict[str, Any]:
    body: dict[str, Any] = client.post(
        "/graphql", json={"query": CREATE, "variables": {"input": definition}}).json()
    return body


def _defect(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "defect_type", "type": "EXPECTATION", "title": "Which defect is visible?",
        "instruction": "Pick the dominant defect.",
        "input": {"kind": "CATEGORICAL", "options": ["scratch", "dent", "none"]},
    }
    base.update(overrides)
    return base


def test_versions_are_immutable_and_record_what_changed(client: TestClient,
                                                        db: Database) -> None:
    v1 = _create(client, **_defect())["data"]["createLabelingSchema"]
    assert (v1["version"], v1["changes"]) == (1, [])
    again = _create(client, **_defect())["data"]["createLabelingSchema"]
    assert again["id"] == v1["id"] and again["version"] == 1
    v2 = _create(client, **_defect(input={"kind": "CATEGORICAL",
                                          "options": ["scratch", "dent", "rust", "none"]},
                                   enableComment=True))["data"]["createLabelingSchema"]
    assert v2["version"] == 2
    assert v2["changes"] == ["enableComment", "input.options"]
    # the first definition again is still version 1
    assert _create(client, **_defect())["data"]["createLabelingSchema"]["version"] == 1
    latest = client.post("/graphql", json={"query": """
        { labelingSchema(name: "defect_type") { version input { options } }
          first: labelingSchema(name: "defect_type", version: 1) { version input { options } }
          none: labelingSchema(name: "nope") { version } }"""}).json()["data"]
    assert latest["labelingSchema"]["version"] == 2
    assert latest["first"]["input"]["options"] == ["scratch", "dent", "none"]
    assert latest["none"] is None
    assert query(db, """
        MATCH (:LabelingSchema {name: 'defect_type'})-[:HAS_VERSION]->(v2 {version: 2})
              -[:PREVIOUS_VERSION]->(v1 {version: 1})
        RETURN count(*) AS n""") == [{"n": 1}]


@pytest.mark.parametrize(("definition", "field"), [
    (_defect(input={"kind": "CATEGORICAL", "options": []}), "input"),
    (_defect(input={"kind": "CATEGORICAL", "options": ["a", "a"]}), "input"),
    (_defect(input={"kind": "NUMERIC", "min": 5, "max": 1}), "input"),
    (_defect(input={"kind": "TEXT", "options": ["x"]}), "input"),
    (_defect(input={"kind": "TEXT", "maxLength": 0}), "input.maxLength"),
    (_defect(input={"kind": "TEXT_LIST", "maxLength": 10, "maxCount": 0}), "input.maxCount"),
    (_defect(name=""), "name"),
    (_defect(title=""), "title"),
])
def test_bad_definitions_are_refused_naming_the_field(client: TestClient, db: Database,
                                                     definition: dict[str, Any],
                                                     field: str) -> None:
    body = _create(client, **definition)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["extensions"]["field"] == field
    assert query(db, "MATCH (v:LabelingSchemaVersion) RETURN count(v) AS n") == [{"n": 0}]


def test_every_input_kind_is_accepted(client: TestClient, db: Database) -> None:
    kinds = [
        {"kind": "CATEGORICAL_LIST", "options": ["wheel", "door"]},
        {"kind": "NUMERIC", "min": 0, "max": 1},
        {"kind": "TEXT", "maxLength": 200},
        {"kind": "TEXT_LIST", "maxLength": 50, "maxCount": 5},
    ]
    for i, spec in enumerate(kinds):
        created = _create(client, **_defect(name=f"schema_{i}", type="FEEDBACK", input=spec))
        assert created["data"]["createLabelingSchema"]["input"]["kind"] == spec["kind"]


def test_changed_fields_walks_nested_definitions() -> None:
    before = {"title": "a", "input": {"kind": "TEXT", "maxLength": 5}}
    after = {"title": "b", "input": {"kind": "TEXT", "maxLength": 9}}
    assert changed_fields(before, after) == ["input.maxLength", "title"]
    assert changed_fields(None, after) == []
