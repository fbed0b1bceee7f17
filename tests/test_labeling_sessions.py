"""Labeling sessions and labels through GraphQL against the real Neo4j: every rule refuses the
whole call naming item, schema and rule; accepted batches become versions of the labels
dataset, which lineage connects to the schema versions."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ids import dataset_id
from lineage_graph.ingest.service import IngestService
from lineage_graph.labeling.labels import LABELS_NAMESPACE
from lineage_graph.lineage.service import Direction, LineageService
from tests.conftest import query
from tests.events import ds, new_run_id, run_event

SCHEMAS = [
    {"name": "defect", "type": "EXPECTATION", "title": "Defect?", "enableComment": True,
     "input": {"kind": "CATEGORICAL", "options": ["scratch", "dent", "none"]}},
    {"name": "parts", "type": "FEEDBACK", "title": "Visible parts",
     "input": {"kind": "CATEGORICAL_LIST", "options": ["wheel", "door"]}},
    {"name": "confidence", "type": "FEEDBACK", "title": "Confidence",
     "input": {"kind": "NUMERIC", "min": 0, "max": 1}},
    {"name": "note", "type": "FEEDBACK", "title": "Note", "input": {"kind": "TEXT",
                                                                    "maxLength": 10}},
    {"name": "tags", "type": "FEEDBACK", "title": "Tags",
     "input": {"kind": "TEXT_LIST", "maxLength": 5, "maxCount": 2}},
]


def _gql(client: TestClient, text: str, **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/graphql", json={"query": text,
                                                         "variables": variables}).json()
    return body


def _session(client: TestClient) -> str:
    for definition in SCHEMAS:
        created = _gql(client, """mutation($i: LabelingSchemaInput!) {
            createLabelingSchema(input: $i) { version } }""", i=definition)
        assert "errors" not in created, created
    session = _gql(client, """mutation($i: LabelingSessionInput!) {
        createLabelingSession(input: $i) { id name schemas { name version }
          dataset { namespace name } labelsDataset { namespace name } labelCount } }""",
                   i={"name": "march-frames", "dataset": {"namespace": "s3://frames",
                                                          "name": "warehouse/night"},
                      "schemas": [{"name": s["name"]} for s in SCHEMAS],
                      "assignedUsers": ["ana", "bo"]})["data"]["createLabelingSession"]
    assert session["labelCount"] == 0
    assert session["labelsDataset"] == {"namespace": LABELS_NAMESPACE,
                                        "name": "session/march-frames"}
    return str(session["id"])


ADD = """mutation($s: ID!, $l: [LabelInput!]!) {
  addLabels(sessionId: $s, labels: $l) { added datasetVersion datasetVersionId } }"""


def _label(schema: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"itemId": "frame-0001", "schema": schema, "value": value, "source": "HUMAN",
            "author": "ana", **extra}


def test_valid_labels_become_a_version_of_the_labels_dataset(client: TestClient,
                                                             db: Database) -> None:
    session = _session(client)
    labels = [_label("defect", "dent", comment="left door"), _label("parts", ["wheel"]),
              _label("confidence", 0.8), _label("note", "ok"), _label("tags", ["a", "b"])]
    first = _gql(client, ADD, s=session, l=labels)["data"]["addLabels"]
    assert (first["added"], first["datasetVersion"]) == (5, "batch-1")
    second = _gql(client, ADD, s=session, l=[_label("defect", "none", source="LLM_JUDGE")])
    assert second["data"]["addLabels"]["datasetVersion"] == "batch-2"
    found = _gql(client, """query($id: ID!) { labelingSession(id: $id) { labelCount } }""",
                 id=session)
    assert found["data"]["labelingSession"]["labelCount"] == 6
    assert query(db, """
        MATCH (:DatasetVersion {version: 'batch-1'})-[:LABELED_WITH]->(v:LabelingSchemaVersion)
        RETURN count(v) AS n""") == [{"n": 5}]


@pytest.mark.parametrize(("label", "rule"), [
    (_label("defect", "rust"), "option 'rust' is not one of"),
    (_label("defect", 3), "must be one option"),
    (_label("parts", ["wheel", "roof"]), "options ['roof'] are not among"),
    (_label("confidence", 1.5), "above the maximum 1"),
    (_label("confidence", "high"), "must be a finite number"),
    (_label("note", "x" * 11), "exceeds maxLength 10"),
    (_label("tags", ["a", "b", "c"]), "3 texts exceed maxCount 2"),
    (_label("tags", ["toolong"]), "exceeds maxLength 5"),
    (_label("note", "fine", comment="no"), "comments are disabled"),
    (_label("weather", "rain"), "does not use schema 'weather'"),
])
def test_one_bad_label_refuses_the_whole_call(client: TestClient, db: Database,
                                              label: dict[str, Any], rule: str) -> None:
    session = _session(client)
    body = _gql(client, ADD, s=session, l=[_label("defect", "dent"), label])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "labels[1]" in error["message"] and "frame-0001" in error["message"]
    assert label["schema"] in error["message"] and rule in error["message"]
    assert query(db, "MATCH (l:Label) RETURN count(l) AS n") == [{"n": 0}]
    assert query(db, "MATCH (v:DatasetVersion) RETURN count(v) AS n") == [{"n": 0}]


def test_unknown_schema_or_session_is_not_found(client: TestClient) -> None:
    missing = _gql(client, """mutation { createLabelingSession(input: {name: "x",
        dataset: {namespace: "a", name: "b"}, schemas: [{name: "nope"}]}) { id } }""")
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "nope" in missing["errors"][0]["message"]
    no_session = _gql(client, ADD, s="labelingSession:nothing", l=[_label("defect", "dent")])
    assert no_session["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_training_on_the_labels_reaches_the_schema_versions(client: TestClient,
                                                            db: Database) -> None:
    session = _session(client)
    _gql(client, ADD, s=session, l=[_label("defect", "dent")])
    run_id = new_run_id()
    labels_ds = ds(LABELS_NAMESPACE, "session/march-frames")
    model_out = ds("s3://models", "detector")
    [batch] = query(db, "MATCH (v:DatasetVersion {version: 'batch-1'}) "
                        "RETURN v.createdAt AS at")
    later = batch["at"].to_native() + timedelta(minutes=1)  # the run starts after the batch
    IngestService(db).ingest_raw([(run_event("COMPLETE", run_id, ("train", "detector"),
                                             later, inputs=[labels_ds],
                                             outputs=[model_out]), None)])
    read = query(db, "MATCH (:Run {runId: $id})-[:READ_VERSION]->(v) RETURN v.version AS v",
                 id=run_id)
    assert read == [{"v": "batch-1"}]
    found = LineageService(db, 10, 100).lineage(dataset_id("s3://models", "detector"),
                                                Direction.UPSTREAM, 6)
    kinds = {n["kind"] for n in found.nodes.values()}
    assert {"LABELING_SESSION", "LABELING_SCHEMA_VERSION"} <= kinds
    assert dataset_id("s3://frames", "warehouse/night") in found.nodes


def test_an_event_naming_a_future_batch_cannot_block_labeling(client: TestClient,
                                                              db: Database) -> None:
    """Found by an attacker review: an event writing version "batch-1" of a session's labels
    dataset made that batch's CREATE fail on every later addLabels."""
    session = _session(client)
    squatter = ds(LABELS_NAMESPACE, "session/march-frames", version="batch-1")
    IngestService(db).ingest_raw([(run_event("COMPLETE", new_run_id(), ("x", "squat"),
                                             datetime(2026, 3, 1, tzinfo=UTC),
                                             outputs=[squatter]), None)])
    added = _gql(client, ADD, s=session, l=[_label("defect", "dent")])
    assert "errors" not in added, added
    assert added["data"]["addLabels"]["datasetVersion"] == "batch-1"
    found = _gql(client, "query($id: ID!) { labelingSession(id: $id) { labelCount } }",
                 id=session)
    assert found["data"]["labelingSession"]["labelCount"] == 1


LABELS = """query($s: ID!, $after: String, $item: String, $schema: String, $limit: Int) {
  labelingSession(id: $s) { labels(after: $after, itemId: $item, schema: $schema,
                                   limit: $limit) {
    id itemId value source author comment time schema { name version } batch batchId
    session { name } cursor } } }"""


def test_labels_read_back_with_schema_version_author_comment_time_and_batch(
        client: TestClient, db: Database) -> None:
    session = _session(client)
    first = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    batch_1 = [_label("defect", "dent", comment="left door", time=first.isoformat()),
               _label("confidence", 0.8, time=(first + timedelta(minutes=1)).isoformat())]
    batch_2 = [_label("defect", "none", source="LLM_JUDGE", author="judge-v3",
                      itemId="frame-0002", time=(first + timedelta(minutes=2)).isoformat())]
    for batch in (batch_1, batch_2):
        assert "errors" not in _gql(client, ADD, s=session, l=batch)
    found = _gql(client, LABELS, s=session)["data"]["labelingSession"]["labels"]
    assert [(lb["itemId"], lb["value"], lb["source"], lb["author"], lb["comment"],
             lb["schema"], lb["batch"], lb["session"]["name"]) for lb in found] == [
        ("frame-0001", "dent", "HUMAN", "ana", "left door", {"name": "defect", "version": 1},
         "batch-1", "march-frames"),
        ("frame-0001", 0.8, "HUMAN", "ana", None, {"name": "confidence", "version": 1},
         "batch-1", "march-frames"),
        ("frame-0002", "none", "LLM_JUDGE", "judge-v3", None,
         {"name": "defect", "version": 1}, "batch-2", "march-frames")]
    assert datetime.fromisoformat(found[0]["time"]) == first
    # Filters, and pages that follow each other without a gap or a repeat.
    by_item = _gql(client, LABELS, s=session, item="frame-0002")["data"]
    assert [lb["id"] for lb in by_item["labelingSession"]["labels"]] == [found[2]["id"]]
    by_schema = _gql(client, LABELS, s=session, schema="defect")["data"]
    assert [lb["id"] for lb in by_schema["labelingSession"]["labels"]] == [
        found[0]["id"], found[2]["id"]]
    pages, after = [], None
    while True:
        page = _gql(client, LABELS, s=session, limit=1, after=after)["data"]
        labels = page["labelingSession"]["labels"]
        if not labels:
            break
        pages.append(labels[0]["id"])
        after = labels[0]["cursor"]
    assert pages == [lb["id"] for lb in found]


def test_every_label_of_an_item_across_sessions(client: TestClient, db: Database) -> None:
    session = _session(client)
    other = _gql(client, """mutation($i: LabelingSessionInput!) {
        createLabelingSession(input: $i) { id } }""", i={
        "name": "april-frames", "schemas": [{"name": "defect"}],
        "dataset": {"namespace": "s3://frames", "name": "warehouse/night"}})
    other_id = other["data"]["createLabelingSession"]["id"]
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    _gql(client, ADD, s=session, l=[_label("defect", "dent", time=at.isoformat())])
    _gql(client, ADD, s=other_id, l=[_label("defect", "none", author="raj",
                                            time=(at + timedelta(days=30)).isoformat()),
                                     _label("defect", "none", itemId="frame-0009")])
    found = _gql(client, """{ labels(itemId: "frame-0001") { value author session { name }
                                                            batch } }""")
    assert found["data"]["labels"] == [
        {"value": "dent", "author": "ana", "session": {"name": "march-frames"},
         "batch": "batch-1"},
        {"value": "none", "author": "raj", "session": {"name": "april-frames"},
         "batch": "batch-1"}]
    bad = _gql(client, """{ labels(itemId: "frame-0001", after: "nope") { id } }""")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("forged", [
    "nope", base64.urlsafe_b64encode(b'"ab"').decode(),
    base64.urlsafe_b64encode(b'{"a": 1, "b": 2}').decode(),
    base64.urlsafe_b64encode(b'["garbage", "x"]').decode(),
    base64.urlsafe_b64encode(b'["2024-01-01T00:00:00+25:00", "x"]').decode(),
    base64.urlsafe_b64encode(b'["2024-01-01T00:00:00", "x"]').decode(),
    base64.urlsafe_b64encode(b'["2024-01-01T00:00:00+00:00", "\\ud800"]').decode(),
])
def test_a_cursor_this_api_did_not_return_is_a_bad_request(client: TestClient, db: Database,
                                                           forged: str) -> None:
    """Found by an attacker review: forged cursors reached Neo4j and came back INTERNAL."""
    session = _session(client)
    for text in (LABELS, """query($after: String) { labels(itemId: "frame-0001",
                                                           after: $after) { id } }"""):
        body = _gql(client, text, s=session, after=forged)
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST", body
        assert "not a cursor this API returned" in body["errors"][0]["message"]
