"""Scenes at summary granularity (`scene ingest --prims summary`): the counts a full store
gives, without a prim; recorded and rebuilt like any scene; full documents unchanged; prim-level
reads say they have no answer instead of answering nothing."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.errors import ConflictError
from lineage_graph.ingest.rebuild import rebuild
from lineage_graph.settings import Settings
from lineage_graph.usd.document import validate_scene_document
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from lineage_graph.usd.summary import summarize
from tests.conftest import SHARED, graph_snapshot, query, wipe
from tests.test_cli import cli

USD = SHARED / "conformance" / "usd"
WAREHOUSE = USD / "warehouse" / "warehouse.usda"

_COUNTS = """
MATCH (sv:SceneVersion)-[:HAS_VARIANT]->(v:SceneVariant)
RETURN v.name AS name, v.primDetail AS detail, v.primCount AS count, v.primsAdded AS added,
       v.primsRemoved AS removed, v.primTypeCounts AS types,
       sv.primCount AS defaultCount, sv.primTypeCounts AS defaultTypes
ORDER BY name
"""


def _warehouse() -> dict[str, Any]:
    return read_scene(WAREHOUSE, asset_root=USD, all_variants=True).as_dict()


def _counts(db: Database) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "detail"} for row in query(db, _COUNTS)]


def test_a_summary_stores_the_counts_a_full_store_gives_and_no_prim(db: Database) -> None:
    doc = _warehouse()
    store_scene(db, doc)
    full = _counts(db)
    # The full store's counts are those of the prims read, variant by variant.
    default_paths = {p["path"] for p in doc["defaultPrims"]}
    by_name = {row["name"]: row for row in full}
    for variant in doc["variants"]:
        name = "warehouse " + ",".join(f"{k}={v}" for k, v in
                                       sorted(variant["selections"].items()))
        paths = {p["path"] for p in variant["prims"]}
        assert by_name[name]["count"] == len(variant["prims"])
        assert (by_name[name]["added"], by_name[name]["removed"]) == (
            len(paths - default_paths), len(default_paths - paths))
        assert json.loads(by_name[name]["types"]) == Counter(p["type"] for p in variant["prims"])
    assert any(row["added"] or row["removed"] for row in full)  # variants do differ

    wipe(db)
    stored = store_scene(db, summarize(doc))
    assert (stored.prim_detail, stored.prims, stored.variants) == ("summary", 0, len(full))
    assert _counts(db) == full
    assert {row["detail"] for row in query(db, _COUNTS)} == {"summary"}
    [held] = query(db, "RETURN COUNT { (:Prim) } AS prims, "
                       "COUNT { ()-[:ADDS_PRIM|REMOVES_PRIM|HAS_PRIM]->() } AS links")
    assert held == {"prims": 0, "links": 0}
    [layers] = query(db, "MATCH (:SceneVersion)-[:USES_LAYER]->(l) RETURN count(l) AS n")
    assert layers["n"] == len(doc["layers"])  # everything but prims is kept


def test_a_summary_is_recorded_and_rebuilt_like_any_scene(db: Database) -> None:
    summary = summarize(_warehouse())
    first = store_scene(db, summary)
    again = store_scene(db, summary)
    assert again.duplicate and again.seq == first.seq
    [record] = query(db, "MATCH (e:Event {recordType: 'scene'}) RETURN e.raw AS raw")
    recorded = json.loads(record["raw"])
    assert recorded["document"]["primDetail"] == "summary"
    assert all(d["adds"] == [] and d["removes"] == [] for d in recorded["variantDiffs"])
    before = graph_snapshot(db)
    assert rebuild(db) == 1
    assert graph_snapshot(db) == before


def test_full_documents_keep_the_form_they_were_recorded_in() -> None:
    """A full document validates to what it was before summaries existed (no primDetail, no
    primSummary), so the records of scenes stored earlier are still found as repeats."""
    validated = validate_scene_document(_warehouse())
    assert "primDetail" not in validated and "defaultPrimSummary" not in validated
    assert all(set(v) == {"selections", "prims"} for v in validated["variants"])
    assert validate_scene_document(summarize(_warehouse()))["primDetail"] == "summary"


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.update(defaultPrims=_warehouse()["defaultPrims"]), "defaultPrims"),
    (lambda d: d["variants"][0].update(prims=_warehouse()["defaultPrims"]), "variants[0].prims"),
    (lambda d: d.pop("defaultPrimSummary"), "defaultPrimSummary"),
    (lambda d: d["variants"][1].pop("primSummary"), "variants[1].primSummary"),
    (lambda d: d["variants"][0]["primSummary"].update(count=-1),
     "variants[0].primSummary.count"),
    (lambda d: d.update(primDetail="full"), "defaultPrimSummary"),
    (lambda d: d["defaultPrimSummary"]["byType"].update(Extra=1), "defaultPrimSummary.byType"),
    (lambda d: d["defaultPrimSummary"].update(added=1), "defaultPrimSummary"),
    (lambda d: d["variants"][2]["primSummary"].update(added=d["variants"][2]["primSummary"]
                                                      ["added"] + 1), "variants[2].primSummary"),
    (lambda d: d["variants"][0]["primSummary"].update(count=2**60),
     "variants[0].primSummary.count"),
])
def test_an_inconsistent_summary_is_422_naming_the_field_and_writes_nothing(
        client: TestClient, db: Database, change: Any, field: str) -> None:
    doc = summarize(_warehouse())
    change(doc)
    response = client.post("/api/v1/scenes", json=doc)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert query(db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n") == [{"n": 0}]


def test_a_full_document_with_a_prim_path_twice_is_422(client: TestClient, db: Database) -> None:
    doc = _warehouse()
    doc["variants"][1]["prims"].append(dict(doc["variants"][1]["prims"][0], type="Xform"))
    response = client.post("/api/v1/scenes", json=doc)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "variants[1].prims"
    assert "appears twice" in response.json()["message"]


def test_graphql_shows_the_counts_and_refuses_prims_of_a_summary(client: TestClient,
                                                                  db: Database) -> None:
    response = client.post("/api/v1/scenes", json=summarize(_warehouse()))
    assert response.status_code == 201 and response.json()["primDetail"] == "summary"
    answer = client.post("/graphql", json={"query": """
      query { scene(sceneId: "warehouse") {
        primDetail primCount primTypes { type count }
        variants { id primDetail primCount primsAdded primsRemoved } } }"""}).json()
    scene = answer["data"]["scene"]
    [version] = query(db, "MATCH (sv:SceneVersion) RETURN sv.primCount AS n, "
                          "sv.primTypeCounts AS types")
    assert (scene["primDetail"], scene["primCount"]) == ("SUMMARY", version["n"])
    assert {t["type"]: t["count"] for t in scene["primTypes"]} == json.loads(version["types"])
    assert {v["primDetail"] for v in scene["variants"]} == {"SUMMARY"}
    a, b = scene["variants"][0]["id"], scene["variants"][1]["id"]
    prims = client.post("/graphql", json={"query": """query($id: ID!) {
        sceneVariant(id: $id) { primCount prims { path } } }""", "variables": {"id": a}}).json()
    [error] = prims["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND" and "--prims summary" in error["message"]
    diff = client.post("/graphql", json={"query": """query($a: ID!, $b: ID!) {
        sceneVariantDiff(a: $a, b: $b) { primsCompared primsOnlyInA selectionChanges {
          variantSet } } }""", "variables": {"a": a, "b": b}}).json()["data"]
    assert diff["sceneVariantDiff"]["primsCompared"] is False
    assert diff["sceneVariantDiff"]["selectionChanges"]  # selections still compare


def test_a_version_keeps_the_detail_it_was_first_stored_with(db: Database) -> None:
    store_scene(db, summarize(_warehouse()))
    with pytest.raises(ConflictError, match="--prims"):
        store_scene(db, _warehouse())


def test_scene_ingest_prims_summary(neo4j_server: Settings, db: Database) -> None:
    result = cli(neo4j_server, "scene", "ingest", str(WAREHOUSE), "--all-variants",
                 "--prims", "summary")
    assert result.returncode == 0, result.stderr
    assert "prims counted, not stored (summary)" in result.stdout
    assert query(db, "MATCH (p:Prim) RETURN count(p) AS n") == [{"n": 0}]
    wrong = cli(neo4j_server, "scene", "ingest", str(WAREHOUSE), "--prims", "some")
    assert wrong.returncode == 1 and "--prims 'some'" in wrong.stderr
