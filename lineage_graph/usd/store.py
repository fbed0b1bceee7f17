"""Store scene documents (the Cypher is in ``lineage_graph.db.scene_writes``).

A scene document is a record in the event record's hash chain (``recordType: scene``, its
canonical JSON as ``raw``), written in the same transaction as its projection into the graph,
so ``db rebuild`` replays it. The same document again records and changes nothing; a different
document under a stored scene version's (sceneId, contentHash) is refused (ConflictError).

Prims are stored once per scene version; a scene variant stores only what its selections add
to or remove from the default composition, so storage grows with prims + differences, not
prims x variants.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import neo4j

from lineage_graph.db import lineage_writes, scene_writes
from lineage_graph.db.connection import Database
from lineage_graph.errors import ConflictError
from lineage_graph.ids import scene_part_id, scene_variant_id, scene_version_id
from lineage_graph.ingest.ledger import Receipt
from lineage_graph.openlineage.canonical import canonical_json
from lineage_graph.usd import record
from lineage_graph.usd.document import validate_scene_document


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
    seq: int | None = None  # the record's sequence number (the first one, for a repeat)
    duplicate: bool = False
    # Other stored contents declaring the same version string: the file's sceneVersion was
    # not bumped when its layers changed. Both are kept (the content hash tells them apart).
    version_reused_by: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        return [f"scene {self.scene_id!r} version {self.version!r} was already stored with "
                f"other content ({', '.join(h[:16] for h in self.version_reused_by)}); bump "
                "customLayerData.sceneVersion when layers change, or ask for this content by "
                f"contentHash {self.content_hash[:16]}..."] if self.version_reused_by else []


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


def store_scene(db: Database, doc: dict[str, Any], receipt: Receipt | None = None
                ) -> StoredScene:
    """Record one scene document and write its projection, in one transaction; idempotent.
    The document is validated (its content hash recomputed from its layers) first."""
    compact = record.compact(validate_scene_document(doc))
    canonical = canonical_json(compact)
    sha = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    doc = record.expand(compact)  # projected as a replay will project it
    receipt = receipt or Receipt.now()
    params = scene_parameters(doc)
    # Times come from the record, so a rebuild keeps which version is the latest.
    params["version"].update(documentSha256=sha, ingestedAtMs=receipt.received_at_ms)
    row = lineage_writes.change_record("scene", "SceneDocument", None, receipt.row(), sha,
                                       canonical)

    def work(tx: neo4j.ManagedTransaction) -> tuple[int, bool, list[str]]:
        state = lineage_writes.lock_and_find_existing(tx, [sha])
        reused = scene_writes.other_contents_of_version(tx, doc["sceneId"], doc["version"],
                                                        doc["contentHash"])
        if sha in state.existing:
            return state.existing[sha], True, reused
        recorded = scene_writes.document_of_scene_version(tx, params["version"]["nodeId"])
        if recorded is not None and recorded != sha:
            raise ConflictError(
                f"scene {doc['sceneId']!r} version with contentHash {doc['contentHash']} is "
                f"stored from another document (sha256 {recorded}); a scene version's content "
                "is fixed by its layers: re-read the scene from its files")
        scene_writes.store_scene(tx, params)
        return lineage_writes.record_only(tx, [row], state)[sha], False, reused

    seq, duplicate, reused = db.write(work)
    return StoredScene(
        scene_id=doc["sceneId"], version=doc["version"], content_hash=doc["contentHash"],
        node_id=params["version"]["nodeId"], layers=len(params["layers"]),
        prims=len(params["prims"]), variants=len(params["variants"]),
        missing_assets=list(doc["missingAssets"]), seq=seq, duplicate=duplicate,
        version_reused_by=reused,
    )


def apply_scene_record(tx: neo4j.ManagedTransaction, raw: str, at_ms: int) -> None:
    """Project a recorded scene document again (``db rebuild``), as of its record's time."""
    params = scene_parameters(record.expand(json.loads(raw)))
    params["version"].update(documentSha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
                             ingestedAtMs=at_ms)
    scene_writes.store_scene(tx, params)
