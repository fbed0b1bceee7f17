"""Scene documents in the real Neo4j: idempotent, prims once per version, variants as
differences, a new version on a layer edit with the old one still there."""

from __future__ import annotations

import shutil
from pathlib import Path

from lineage_graph.db.connection import Database
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from tests.conftest import SHARED, graph_snapshot, query

USD = SHARED / "conformance" / "usd"


def test_scene_is_stored_with_prims_once_and_variants_as_differences(db: Database) -> None:
    doc = read_scene(USD / "warehouse" / "warehouse.usda", asset_root=USD, all_variants=True)
    stored = store_scene(db, doc.as_dict())
    assert (stored.scene_id, stored.version, stored.variants) == ("warehouse", "1.4.0", 6)
    all_paths = {p.path for v in doc.variants for p in v.prims} | {
        p.path for p in doc.default_prims}
    [row] = query(db, """
        MATCH (:Scene {sceneId: 'warehouse'})-[:HAS_VERSION]->(sv:SceneVersion)
        RETURN sv.version AS version, COUNT { (sv)-[:HAS_PRIM]->() } AS prims,
               COUNT { (sv)-[:USES_LAYER]->() } AS layers,
               COUNT { (sv)-[:HAS_VARIANT]->() } AS variants, sv.missingAssets AS missing""")
    assert row == {"version": "1.4.0", "prims": len(all_paths), "layers": 5, "variants": 6,
                   "missing": ["warehouse/assets/pallet.usda"]}
    # Each variant's prims = default prims - removed + added, and match what was read.
    for variant in doc.variants:
        selections = ",".join(f"{k}={v}" for k, v in sorted(variant.selections.items()))
        [found] = query(db, """
            MATCH (sv:SceneVersion)-[:HAS_VARIANT]->(v:SceneVariant {name: $name})
            MATCH (sv)-[h:HAS_PRIM]->(p:Prim)
            WHERE (h.inDefault AND NOT (v)-[:REMOVES_PRIM]->(p)) OR (v)-[:ADDS_PRIM]->(p)
            RETURN collect(p.path) AS paths, v.primCount AS count""",
                        name=f"warehouse {selections}")
        assert sorted(found["paths"]) == [p.path for p in variant.prims]
        assert found["count"] == len(variant.prims)
    # storage grows with differences, not prims x variants
    [diff] = query(db, "MATCH (:SceneVariant)-[r:ADDS_PRIM|REMOVES_PRIM]->() "
                       "RETURN count(r) AS n")
    assert diff["n"] < sum(len(v.prims) for v in doc.variants) / 2


def test_reingesting_an_unchanged_scene_changes_nothing(db: Database) -> None:
    doc = read_scene(USD / "kitchen" / "kitchen.usda", asset_root=USD, all_variants=True)
    store_scene(db, doc.as_dict())
    before = graph_snapshot(db)
    store_scene(db, read_scene(USD / "kitchen" / "kitchen.usda", asset_root=USD,
                               all_variants=True).as_dict())
    assert graph_snapshot(db) == before  # ingestedAt is set on create only


def test_an_edited_layer_is_a_new_version_and_the_old_one_stays(db: Database,
                                                                 tmp_path: Path) -> None:
    copy = tmp_path / "warehouse"
    shutil.copytree(USD / "warehouse", copy)
    first = store_scene(db, read_scene(copy / "warehouse.usda").as_dict())
    lighting = copy / "lighting.usda"
    lighting.write_text(lighting.read_text().replace("1000", "1500") + "\n")
    second = store_scene(db, read_scene(copy / "warehouse.usda").as_dict())
    assert first.node_id != second.node_id
    versions = query(db, """
        MATCH (:Scene {sceneId: 'warehouse'})-[:HAS_VERSION]->(sv)
        RETURN sv.contentHash AS hash ORDER BY hash""")
    assert [v["hash"] for v in versions] == sorted([first.content_hash, second.content_hash])
    shared = query(db, """
        MATCH (a:SceneVersion {nodeId: $a})-[:USES_LAYER]->(layer)<-[:USES_LAYER]-
              (b:SceneVersion {nodeId: $b})
        RETURN count(layer) AS n""", a=first.node_id, b=second.node_id)
    assert shared == [{"n": 4}]  # layers are stored by content hash: only lighting differs


def test_a_reused_version_string_keeps_both_contents_apart(client: object, db: Database,
                                                          tmp_path: Path) -> None:
    """The file keeps declaring sceneVersion 1.4.0 while its lighting layer changes: both
    contents are stored, the store warns, and GraphQL tells them apart by content hash."""
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    copy = tmp_path / "warehouse"
    shutil.copytree(USD / "warehouse", copy)
    first = store_scene(db, read_scene(copy / "warehouse.usda").as_dict())
    lighting = copy / "lighting.usda"
    lighting.write_text(lighting.read_text().replace("1000", "1500") + "\n")
    edited = read_scene(copy / "warehouse.usda").as_dict()
    answer = client.post("/api/v1/scenes", json=edited)
    assert answer.status_code == 201, answer.text
    second = answer.json()
    assert (first.version, second["version"]) == ("1.4.0", "1.4.0")
    assert first.warnings() == []
    [warning] = second["warnings"]
    assert "'1.4.0' was already stored with other content" in warning
    assert first.content_hash[:16] in warning
    ask = """query($hash: String) { scene(sceneId: "warehouse", version: "1.4.0",
               contentHash: $hash) { contentHash versions { version contentHash } } }"""
    by_hash = client.post("/graphql", json={"query": ask,
                                            "variables": {"hash": first.content_hash}})
    scene = by_hash.json()["data"]["scene"]
    assert scene["contentHash"] == first.content_hash
    assert scene["versions"] == [  # newest first
        {"version": "1.4.0", "contentHash": second["contentHash"]},
        {"version": "1.4.0", "contentHash": first.content_hash}]
    latest = client.post("/graphql", json={"query": ask, "variables": {"hash": None}})
    assert latest.json()["data"]["scene"]["contentHash"] == second["contentHash"]


def test_graphql_scene_and_scene_variant(client: object, db: Database) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    doc = read_scene(USD / "kitchen" / "kitchen.usda", asset_root=USD, all_variants=True)
    store_scene(db, doc.as_dict())
    response = client.post("/graphql", json={"query": """
      query {
        scene(sceneId: "kitchen") {
          id version contentHash versions { version contentHash } rootPrim
          layers { path missing arcs { kind prim resolved } }
          variantSets { name options defaultOption existsUnder { set option } }
          variants { id primCount selections { set option } }
          prims(limit: 50) { path }
        }
      }"""})
    scene = response.json()["data"]["scene"]
    assert (scene["version"], scene["versions"], scene["rootPrim"]) == (
        "0.9.2", [{"version": "0.9.2", "contentHash": doc.content_hash}], "/Kitchen")
    assert [layer["path"] for layer in scene["layers"]] == ["kitchen/fridge.usda",
                                                            "kitchen/kitchen.usda"]
    nested = [s for s in scene["variantSets"] if s["existsUnder"]]
    assert nested == [{"name": "mess_level", "options": ["extreme", "medium"],
                       "defaultOption": "medium",
                       "existsUnder": [{"set": "clutter", "option": "messy"}]}]
    assert sorted(v["primCount"] for v in scene["variants"]) == [4, 5, 6, 7]
    assert [p["path"] for p in scene["prims"]] == [p.path for p in doc.default_prims]

    messy_retro = next(v for v in scene["variants"] if {"set": "appliances", "option": "retro"}
                       in v["selections"] and {"set": "clutter", "option": "messy"}
                       in v["selections"])
    variant = client.post("/graphql", json={"query": """
      query($id: ID!) { sceneVariant(id: $id) { id primCount scene { sceneId version }
                                                prims(limit: 100) { path } } }""",
                                             "variables": {"id": messy_retro["id"]}})
    found = variant.json()["data"]["sceneVariant"]
    expected = next(v for v in doc.variants
                    if v.selections == {"appliances": "retro", "clutter": "messy"})
    assert [p["path"] for p in found["prims"]] == [p.path for p in expected.prims]
    assert found["scene"] == {"sceneId": "kitchen", "version": "0.9.2"}
    node = client.post("/graphql", json={"query": """
      query($id: ID!) { node(id: $id) { kind } }""", "variables": {"id": messy_retro["id"]}})
    assert node.json()["data"]["node"] == {"kind": "SCENE_VARIANT"}


def test_post_scene_document_stores_it(client: object, db: Database) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    doc = read_scene(USD / "kitchen" / "kitchen.usda", asset_root=USD, all_variants=True)
    response = client.post("/api/v1/scenes", json=doc.as_dict())
    assert response.status_code == 201, response.text
    assert response.json()["sceneId"] == "kitchen" and response.json()["variants"] == 4
    again = client.post("/api/v1/scenes", json=doc.as_dict())
    assert again.status_code == 201 and again.json()["id"] == response.json()["id"]
    assert query(db, "MATCH (v:SceneVariant) RETURN count(v) AS n") == [{"n": 4}]


def test_invalid_scene_document_is_422_naming_the_field_and_writes_nothing(
    client: object, db: Database
) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    good = read_scene(USD / "kitchen" / "kitchen.usda", asset_root=USD).as_dict()
    cases = {
        "contentHash": {**good, "contentHash": "not-a-hash"},
        "sceneId": {k: v for k, v in good.items() if k != "sceneId"},
        "arcs[0].kind": {**good, "arcs": [{**good["arcs"][0], "kind": "INHERIT"}]},
        "variants[0].prims[0].path": {**good, "variants": [
            {"selections": {}, "prims": [{**good["defaultPrims"][0], "path": "Kitchen"}]}]},
    }
    for field, doc in cases.items():
        response = client.post("/api/v1/scenes", json=doc)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["field"] == field
    assert client.post("/api/v1/scenes", content=b"{oops",
                       headers={"Content-Type": "application/json"}).status_code == 400
    assert query(db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n") == [{"n": 0}]
