"""Store scene documents in the graph (the Cypher is in ``lineage_graph.db.scene_writes``).

Prims are stored once per scene version; a scene variant stores only what its selections add
to or remove from the default composition, so storage grows with prims + differences, not
prims x variants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lineage_graph.db import scene_writes
from lineage_graph.db.connection import Database
from lineage_graph.ids import scene_part_id, scene_variant_id, scene_version_id


@dataclass(frozen=True)
class StoredScene:
    scene_id: str
    version: str
    content_hash: str
    node_id: str
    layers: int
    prims: int
    variants: int
    missing_assets: list[str]


def scene_parameters(doc: dict[str, Any]) -> dict[str, Any]:
    """Rows for the scene statement, from a scene document (its JSON form)."""
    version_id = scene_version_id(doc["sceneId"], doc["contentHash"])

    def prim_id(path: str) -> str:
        return scene_part_id(version_id, "prim", path)

    default_paths = {p["path"] for p in doc["defaultPrims"]}
    prims: dict[str, dict[str, Any]] = {}
    for prim in [*doc["defaultPrims"], *(p for v in doc["variants"] for p in v["prims"])]:
        prims.setdefault(prim["path"], {
            "primId": prim_id(prim["path"]), "path": prim["path"], "type": prim["type"],
            "kind": prim["kind"], "instanceable": prim["instanceable"],
            "instanceProxy": prim["instanceProxy"], "inDefault": prim["path"] in default_paths,
        })
    variant_sets = []
    for vset in doc["variantSets"]:
        set_id = scene_part_id(version_id, "variantSet", vset["name"])
        variant_sets.append({
            "variantSetId": set_id, "name": vset["name"], "default": vset["default"],
            "existsUnder": json.dumps(vset["existsUnder"], sort_keys=True),
            "options": [{"optionId": scene_part_id(set_id, "option", o), "name": o}
                        for o in vset["options"]],
        })
    variants = []
    for variant in doc["variants"]:
        paths = {p["path"] for p in variant["prims"]}
        selections = variant["selections"]
        variants.append({
            "nodeId": scene_variant_id(doc["sceneId"], doc["contentHash"], selections),
            "name": f"{doc['sceneId']} "
                    + ",".join(f"{k}={v}" for k, v in sorted(selections.items())),
            "selections": json.dumps(selections, sort_keys=True),
            "primCount": len(paths),
            "optionIds": [
                scene_part_id(scene_part_id(version_id, "variantSet", k), "option", v)
                for k, v in sorted(selections.items())
            ],
            "adds": sorted(prim_id(p) for p in paths - default_paths),
            "removes": sorted(prim_id(p) for p in default_paths - paths),
        })
    return {
        "version": {
            "nodeId": version_id, "sceneId": doc["sceneId"], "version": doc["version"],
            "contentHash": doc["contentHash"], "rootLayer": doc["rootLayer"],
            "rootPrim": doc["rootPrim"], "missingAssets": doc["missingAssets"],
            "defaultSelections": json.dumps(doc["defaultSelections"], sort_keys=True),
            "name": f"{doc['sceneId']}@{doc['version']}",
        },
        "layers": [{"path": lyr["path"], "sha256": lyr["sha256"]} for lyr in doc["layers"]],
        "arcs": [
            {**arc, "arcId": scene_part_id(version_id, "arc", arc["kind"], arc["layer"],
                                           arc["prim"] or "", arc["target"])}
            for arc in doc["arcs"]
        ],
        "prims": list(prims.values()),
        "variantSets": variant_sets,
        "variants": variants,
    }


def store_scene(db: Database, doc: dict[str, Any]) -> StoredScene:
    """Write one scene document in one transaction; idempotent."""
    params = scene_parameters(doc)
    db.write(lambda tx: scene_writes.store_scene(tx, params))
    return StoredScene(
        scene_id=doc["sceneId"], version=doc["version"], content_hash=doc["contentHash"],
        node_id=params["version"]["nodeId"], layers=len(params["layers"]),
        prims=len(params["prims"]), variants=len(params["variants"]),
        missing_assets=list(doc["missingAssets"]),
    )
