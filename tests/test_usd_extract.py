"""Reading USD scenes: checked against ../shared/conformance/usd/expected.json, the facts a
correct reader finds, plus edits, nested variant sets and bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lineage_graph.usd.extract import SceneReadError, read_scene
from tests.conftest import SHARED

USD = SHARED / "conformance" / "usd"
EXPECTED = json.loads((USD / "expected.json").read_text())


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda e: e["scene"])
def test_scene_matches_expected(expected: dict) -> None:
    doc = read_scene(USD / expected["scene"], asset_root=USD, all_variants=True).as_dict()
    assert doc["rootPrim"] == expected["rootPrim"]
    assert [layer["path"] for layer in doc["layers"]] == expected["layers"]
    assert doc["missingAssets"] == expected["unresolvedPaths"]
    root_sets = {v["name"]: v for v in doc["variantSets"] if not v["existsUnder"]}
    assert {n: v["options"] for n, v in root_sets.items()} == expected["variantSets"]
    assert {n: v["default"] for n, v in root_sets.items()} == expected["defaultSelections"]
    composed = {json.dumps(v["selections"], sort_keys=True): [p["path"] for p in v["prims"]]
                for v in doc["variants"]}
    assert len(composed) == len(expected["variants"])
    for variant in expected["variants"]:
        prims = composed[json.dumps(variant["selections"], sort_keys=True)]
        assert len(prims) == variant["primCount"]
        assert prims == sorted(variant["prims"])


def test_identity_comes_from_custom_layer_data() -> None:
    doc = read_scene(USD / "warehouse" / "warehouse.usda", asset_root=USD)
    assert (doc.scene_id, doc.version) == ("warehouse", "1.4.0")
    assert doc.root_layer == "warehouse/warehouse.usda"
    assert len(doc.content_hash) == 64
    # default selection only
    assert [v.selections for v in doc.variants] == [{"lighting": "day", "layout": "aisle_wide"}]


def test_arcs_name_their_kind_and_introducing_prim() -> None:
    doc = read_scene(USD / "warehouse" / "warehouse.usda", asset_root=USD)
    arcs = {(a.kind, a.prim, a.resolved) for a in doc.arcs}
    assert ("SUBLAYER", None, "warehouse/lighting.usda") in arcs
    assert ("PAYLOAD", "/World/Clutter", "warehouse/assets/clutter.usda") in arcs
    assert ("REFERENCE", "/World{layout=aisle_narrow}Forklift_02",
            "warehouse/assets/forklift.usda") in arcs
    assert ("REFERENCE", "/Clutter/Pallet", None) in arcs  # the missing asset, recorded


def test_nested_variant_set_is_found_with_the_selection_it_lives_under() -> None:
    doc = read_scene(USD / "kitchen" / "kitchen.usda", asset_root=USD, all_variants=True)
    nested = [v for v in doc.variant_sets if v.exists_under]
    assert [(v.name, v.options, v.default, v.exists_under) for v in nested] == [
        ("mess_level", ["extreme", "medium"], "medium", {"clutter": "messy"})]


def test_instance_proxies_are_traversed_and_marked() -> None:
    doc = read_scene(USD / "warehouse" / "warehouse.usda", asset_root=USD)
    prims = {p.path: p for p in doc.variants[0].prims}
    assert prims["/World/Shelf_01"].instanceable
    assert prims["/World/Shelf_01/Frame"].instance_proxy


def test_selected_variants_are_composed_and_checked() -> None:
    path = USD / "warehouse" / "warehouse.usda"
    doc = read_scene(path, asset_root=USD, selections=[{"lighting": "night"}])
    assert doc.variants[0].selections == {"lighting": "night", "layout": "aisle_wide"}
    with pytest.raises(SceneReadError, match="no option 'noon'"):
        read_scene(path, selections=[{"lighting": "noon"}])
    with pytest.raises(SceneReadError, match="no variant set 'weather'"):
        read_scene(path, selections=[{"weather": "rain"}])
    with pytest.raises(SceneReadError, match="more than --max-variants 4"):
        read_scene(path, all_variants=True, max_variants=4)


def test_an_edited_layer_gives_a_new_content_hash(tmp_path: Path) -> None:
    copy = tmp_path / "warehouse"
    shutil.copytree(USD / "warehouse", copy)
    before = read_scene(copy / "warehouse.usda")
    lighting = copy / "lighting.usda"
    lighting.write_text(lighting.read_text() + "\n")
    after = read_scene(copy / "warehouse.usda")
    assert after.content_hash != before.content_hash
    old = {lyr.path: lyr.sha256 for lyr in before.layers}
    new = {lyr.path: lyr.sha256 for lyr in after.layers}
    assert {p for p in old if old[p] != new[p]} == {"lighting.usda"}
    assert read_scene(copy / "warehouse.usda").content_hash == after.content_hash  # stable


def test_version_is_derived_from_the_hash_without_scene_version(tmp_path: Path) -> None:
    scene = tmp_path / "tiny.usda"
    scene.write_text('#usda 1.0\n(\n    defaultPrim = "Root"\n)\ndef Xform "Root"\n{\n'
                     '    def Cube "Box"\n    {\n    }\n}\n')
    doc = read_scene(scene)
    assert doc.scene_id == "tiny"
    assert doc.version == f"sha256:{doc.content_hash[:16]}"
    assert [p.path for p in doc.variants[0].prims] == ["/Root", "/Root/Box"]


@pytest.mark.parametrize("content", [b"this is not a scene\n", b"#usda 1.0\ndef Xform \"A\" {\n",
                                     b"\x00\x01\x02PXR-USDC garbage"])
def test_bad_files_get_a_clear_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.usda"
    bad.write_bytes(content)
    with pytest.raises(SceneReadError, match=r"bad\.usda"):
        read_scene(bad)


def test_a_missing_file_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SceneReadError, match="no such file"):
        read_scene(tmp_path / "nowhere.usda")


def test_a_nested_variant_set_can_be_selected() -> None:
    kitchen = USD / "kitchen" / "kitchen.usda"
    doc = read_scene(kitchen, selections=[{"clutter": "messy", "mess_level": "extreme"},
                                          {"clutter": "messy"}])
    extreme, medium = doc.variants
    assert extreme.selections == {"appliances": "modern", "clutter": "messy",
                                  "mess_level": "extreme"}
    paths = {p.path for p in extreme.prims} - {p.path for p in medium.prims}
    assert paths == {"/Kitchen/Dishes/Plate_1", "/Kitchen/Dishes/Plate_2"}
    with pytest.raises(SceneReadError, match="no variant set 'mess_level'"):
        read_scene(kitchen, selections=[{"clutter": "tidy", "mess_level": "extreme"}])
