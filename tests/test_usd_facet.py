"""The usdScene facet links OpenLineage datasets to scene variants, in either arrival order,
and lineage walks from rendered frames back to the scene."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openlineage.client.serde import Serde

from lineage_graph.db.connection import Database
from lineage_graph.ids import dataset_id
from lineage_graph.ingest.service import IngestService
from lineage_graph.lineage.service import Direction, LineageService
from lineage_graph.openlineage.facets import parse_facets
from lineage_graph.usd import scene_facet
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from tests.conftest import SHARED, graph_snapshot, query, wipe
from tests.events import T0, ds, new_run_id, run_event

WAREHOUSE = SHARED / "conformance" / "usd" / "warehouse" / "warehouse.usda"
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "schema" / "facets"
                     / "UsdSceneDatasetFacet.json").read_text())


def _render_events(facet: dict[str, Any]) -> list[dict[str, Any]]:
    """A render job reads the scene dataset (carrying usdScene) and writes frames."""
    run_id = new_run_id()
    scene_ds = ds("s3://scenes", "warehouse/night")
    scene_ds["facets"]["usdScene"] = facet
    frames = ds("s3://frames", "warehouse/night/v1")
    job = ("replicator", "render_warehouse")
    return [run_event("START", run_id, job, T0, inputs=[scene_ds], outputs=[frames]),
            run_event("COMPLETE", run_id, job, T0.replace(hour=9), inputs=[scene_ds],
                      outputs=[frames])]


def _facet(**overrides: Any) -> dict[str, Any]:
    facet: dict[str, Any] = Serde.to_dict(scene_facet(WAREHOUSE, {"lighting": "night"}))
    facet.update(overrides)
    return {k: v for k, v in facet.items() if v is not None}


def test_scene_facet_helper_describes_the_variant() -> None:
    facet = scene_facet(WAREHOUSE, {"lighting": "night"})
    doc = read_scene(WAREHOUSE)
    assert facet.sceneId == "warehouse" and facet.version == "1.4.0"
    assert facet.contentHash == doc.content_hash
    assert facet.variantSelections == {"lighting": "night", "layout": "aisle_wide"}
    payload = Serde.to_dict(facet)
    assert payload["_schemaURL"].endswith("#/$defs/UsdSceneDatasetFacet")
    assert Draft202012Validator(SCHEMA["$defs"]["UsdSceneDatasetFacet"]).is_valid(payload)


@pytest.mark.parametrize("payload", [
    {"sceneId": "s", "rootLayer": "s.usda", "variantSelections": {"a": "b"}},
    {"sceneId": "", "rootLayer": "s.usda", "variantSelections": {}},
    {"sceneId": "s", "variantSelections": {}},
    {"sceneId": "s", "rootLayer": "s.usda", "variantSelections": {"a": 1}},
    {"sceneId": "s", "rootLayer": "s.usda", "variantSelections": {}, "contentHash": "xyz"},
])
def test_facet_model_agrees_with_its_json_schema(payload: dict[str, Any]) -> None:
    facet = {"_producer": "https://example.com", "_schemaURL": "https://example.com/s", **payload}
    [parsed] = parse_facets("dataset", {"usdScene": facet}, "facets")
    assert (not parsed.malformed) == Draft202012Validator(
        SCHEMA["$defs"]["UsdSceneDatasetFacet"]).is_valid(facet)


def _ingest_both(db: Database, scene_first: bool, events: list[dict[str, Any]]) -> None:
    scene = read_scene(WAREHOUSE, all_variants=True).as_dict()
    steps = [lambda: store_scene(db, scene),
             lambda: IngestService(db).ingest_raw([(e, None) for e in events])]
    for step in steps if scene_first else reversed(steps):
        step()


@pytest.mark.parametrize("facet_kind", ["with content hash", "version only"])
def test_arrival_order_does_not_matter(session_db: Database, facet_kind: str) -> None:
    facet = _facet() if facet_kind == "with content hash" else _facet(contentHash=None)
    events = _render_events(facet)
    snapshots = []
    for scene_first in (True, False):
        wipe(session_db)
        _ingest_both(session_db, scene_first, events)
        [link] = query(session_db, """
            MATCH (:Dataset {name: 'warehouse/night'})-[:FROM_SCENE_VARIANT]->(v:SceneVariant)
            RETURN v.placeholder AS placeholder, v.selections AS selections""")
        assert link == {"placeholder": False, "selections": json.dumps(
            {"layout": "aisle_wide", "lighting": "night"}, sort_keys=True)}
        assert query(session_db, "MATCH (v:SceneVariant {placeholder: true}) "
                                 "RETURN count(v) AS n") == [{"n": 0}]
        snapshots.append(graph_snapshot(session_db))
    assert snapshots[0] == snapshots[1]


def test_a_facet_for_a_scene_not_yet_ingested_makes_a_placeholder(db: Database) -> None:
    IngestService(db).ingest_raw([(e, None) for e in _render_events(_facet())])
    [row] = query(db, """
        MATCH (:Dataset {name: 'warehouse/night'})-[:FROM_SCENE_VARIANT]->(v:SceneVariant)
        RETURN v.placeholder AS placeholder, v.sceneId AS sceneId""")
    assert row == {"placeholder": True, "sceneId": "warehouse"}


def test_lineage_walks_from_frames_back_to_the_scene(db: Database) -> None:
    _ingest_both(db, scene_first=False, events=_render_events(_facet()))
    service = LineageService(db, max_depth=10, max_limit=100)
    found = service.lineage(dataset_id("s3://frames", "warehouse/night/v1"),
                            Direction.UPSTREAM, 10)
    kinds = {n["kind"] for n in found.nodes.values()}
    assert kinds == {"DATASET", "JOB", "SCENE_VARIANT", "SCENE"}
    by_kind = {n["kind"]: nid for nid, n in found.nodes.items()}
    edges = {(s, t) for s, t, _ in found.edges}
    scene_ds = dataset_id("s3://scenes", "warehouse/night")
    assert (by_kind["SCENE_VARIANT"], scene_ds) in edges
    assert (by_kind["SCENE"], by_kind["SCENE_VARIANT"]) in edges


def test_graphql_scene_variant_lists_its_datasets(client: Any, db: Database) -> None:
    _ingest_both(db, scene_first=True, events=_render_events(_facet()))
    [variant] = query(db, "MATCH (:Dataset)-[:FROM_SCENE_VARIANT]->(v) RETURN v.nodeId AS id")
    response = client.post("/graphql", json={"query": """
        query($id: ID!) { sceneVariant(id: $id) { datasets { namespace name } } }""",
                                             "variables": {"id": variant["id"]}})
    assert response.json()["data"]["sceneVariant"]["datasets"] == [
        {"namespace": "s3://scenes", "name": "warehouse/night"}]


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], ...]:
    """The warehouse scene as shipped (1.4.0) and a copy with its lighting layer edited
    (declared 1.5.0): two stored versions of one scene."""
    import shutil

    edited = tmp_path_factory.mktemp("edited") / "warehouse"
    shutil.copytree(WAREHOUSE.parent, edited)
    root, lighting = edited / "warehouse.usda", edited / "lighting.usda"
    root.write_text(root.read_text().replace('"1.4.0"', '"1.5.0"'))
    lighting.write_text(lighting.read_text().replace("intensity = 3000", "intensity = 4500"))
    return (read_scene(WAREHOUSE, all_variants=True).as_dict(),
            read_scene(root, all_variants=True).as_dict())


def _linked_version(db: Database) -> tuple[str, str]:
    [row] = query(db, """
        MATCH (:Dataset {name: 'warehouse/night'})-[:FROM_SCENE_VARIANT]->(v:SceneVariant)
        WHERE NOT v.placeholder
        RETURN v.version AS version, v.contentHash AS hash""")
    return row["version"], row["hash"]


@pytest.mark.parametrize(("names", "expected"), [
    ({"version": "1.4.0", "hash": "old"}, "1.4.0"),
    ({"version": None, "hash": "old"}, "1.4.0"),  # the hash alone picks the exact version
    ({"version": "1.4.0", "hash": None}, "1.4.0"),  # a version alone picks that version
    ({"version": None, "hash": None}, "1.5.0"),  # neither: the latest ingested
])
def test_a_facet_resolves_to_the_scene_version_it_names(
        db: Database, two_versions: tuple[dict[str, Any], ...], names: dict[str, Any],
        expected: str) -> None:
    old, new = two_versions
    assert (old["version"], new["version"]) == ("1.4.0", "1.5.0")
    assert old["contentHash"] != new["contentHash"]
    store_scene(db, old)
    store_scene(db, new)
    facet = _facet(version=names["version"],
                   contentHash=old["contentHash"] if names["hash"] == "old" else None)
    IngestService(db).ingest_raw([(e, None) for e in _render_events(facet)])
    by_version = {d["version"]: d["contentHash"] for d in two_versions}
    assert _linked_version(db) == (expected, by_version[expected])


def test_a_placeholder_joins_the_first_matching_version_to_arrive(
        db: Database, two_versions: tuple[dict[str, Any], ...]) -> None:
    old, new = two_versions
    facet = _facet(contentHash=None, version=None)
    IngestService(db).ingest_raw([(e, None) for e in _render_events(facet)])
    store_scene(db, old)  # the first to arrive takes the placeholder's links
    store_scene(db, new)
    assert _linked_version(db) == ("1.4.0", old["contentHash"])
    assert query(db, "MATCH (v:SceneVariant {placeholder: true}) RETURN count(v) AS n") == [
        {"n": 0}]


def test_the_same_selections_on_an_edited_layer_are_another_scene_variant(
        db: Database, two_versions: tuple[dict[str, Any], ...]) -> None:
    for doc in two_versions:
        store_scene(db, doc)
    night = json.dumps({"layout": "aisle_wide", "lighting": "night"}, sort_keys=True)
    rows = query(db, """MATCH (v:SceneVariant {sceneId: 'warehouse', selections: $night})
                        RETURN v.version AS version, v.nodeId AS id ORDER BY version""",
                 night=night)
    assert [r["version"] for r in rows] == ["1.4.0", "1.5.0"]
    assert rows[0]["id"] != rows[1]["id"]
