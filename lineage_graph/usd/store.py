"""Store scene documents (the Cypher is in ``lineage_graph.db.scene_writes``).

A scene document is a record in the event record's hash chain (``recordType: scene``, its
canonical JSON as ``raw``), written in the transaction that publishes its projection into the
graph (a new version's prims are staged before, invisibly: usd.staging), so ``db rebuild``
replays it. The same document again records and changes nothing; a different
document under a stored scene version's (sceneId, contentHash) is refused (ConflictError).

Prims are stored once per scene version; a scene variant stores only what its selections add
to or remove from the default composition, so storage grows with prims + differences, not
prims x variants.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import neo4j

from lineage_graph.db import lineage_writes, scene_writes
from lineage_graph.db.connection import Database
from lineage_graph.errors import ConflictError
from lineage_graph.ids import scene_part_id, scene_variant_id, scene_version_id
from lineage_graph.ledger import append
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.openlineage.canonical import canonical_json
from lineage_graph.usd import record
from lineage_graph.usd.document import validate_scene_document
from lineage_graph.usd.staging import (
    DEFAULT_CHUNK_PRIMS,
    DEFAULT_LEASE_MS,
    Progress,
    SceneStaging,
)
from lineage_graph.usd.summary import FULL, SUMMARY

log = logging.getLogger(__name__)


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
    prim_detail: str = FULL  # summary: prims counted, none stored (``prims`` is then 0)
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


def scene_parameters(scene_record: dict[str, Any]) -> dict[str, Any]:
    """Rows for the scene statements, from a scene document's record (usd.record: the default
    composition's prims once, per variant what it adds and removes), as the expanded document
    would give them: a prim is known by its path (the first prim seen at a path wins, default
    prims first), a variant's prims are the default ones minus its removals plus its
    additions. Working from the record keeps the cost in prims + differences."""
    doc = scene_record["document"]
    diffs = scene_record["variantDiffs"]
    version_id = scene_version_id(doc["sceneId"], doc["contentHash"])

    def prim_id(path: str) -> str:
        return scene_part_id(version_id, "prim", path)

    default_paths = {p["path"] for p in doc["defaultPrims"]}
    prims: dict[str, dict[str, Any]] = {}
    for prim in [*doc["defaultPrims"], *(p for d in diffs for p in d["adds"])]:
        if prim["path"] in prims:
            continue
        prims[prim["path"]] = {
            "primId": prim_id(prim["path"]), "path": prim["path"], "type": prim["type"],
            "kind": prim["kind"], "instanceable": prim["instanceable"],
            "instanceProxy": prim["instanceProxy"], "inDefault": prim["path"] in default_paths,
        }
    variant_sets = []
    for vset in doc["variantSets"]:
        set_id = scene_part_id(version_id, "variantSet", vset["name"])
        variant_sets.append({
            "variantSetId": set_id, "name": vset["name"], "default": vset["default"],
            "existsUnder": json.dumps(vset["existsUnder"], sort_keys=True),
            "options": [{"optionId": scene_part_id(set_id, "option", o), "name": o}
                        for o in vset["options"]],
        })
    detail = doc.get("primDetail", FULL)
    summary = detail == SUMMARY
    default_type = {p["path"]: p["type"] for p in doc["defaultPrims"]}
    default_types = (doc["defaultPrimSummary"]["byType"] if summary
                     else Counter(default_type.values()))
    variants = []
    for diff in diffs:
        added = {p["path"] for p in diff["adds"]}
        paths = (default_paths - set(diff["removes"])) | added
        selections = diff["selections"]
        if summary:
            counted = diff["primSummary"]
        else:  # the default's type counts, less what the variant removes, plus what it adds
            types = Counter(default_types)
            types.subtract(default_type[p] for p in diff["removes"])
            types.update(p["type"] for p in diff["adds"])
            counted = {"count": len(paths), "byType": +types,
                       "added": len(paths - default_paths), "removed": len(default_paths - paths)}
        variants.append({
            "nodeId": scene_variant_id(doc["sceneId"], doc["contentHash"], selections),
            "name": f"{doc['sceneId']} "
                    + ",".join(f"{k}={v}" for k, v in sorted(selections.items())),
            "selections": json.dumps(selections, sort_keys=True),
            "primDetail": detail,
            "primCount": counted["count"],
            "primsAdded": counted["added"],
            "primsRemoved": counted["removed"],
            "primTypeCounts": json.dumps(dict(counted["byType"]), sort_keys=True),
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
            "primDetail": detail,
            "primCount": (doc["defaultPrimSummary"]["count"] if summary
                          else len(doc["defaultPrims"])),
            "primTypeCounts": json.dumps(dict(default_types), sort_keys=True),
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


def store_scene(db: Database, doc: dict[str, Any], receipt: Receipt | None = None, *,
                chunk_prims: int = DEFAULT_CHUNK_PRIMS, on_progress: Progress | None = None,
                lease_ms: int = DEFAULT_LEASE_MS) -> StoredScene:
    """Record one scene document and write its projection; idempotent. The document is
    validated (its content hash recomputed from its layers) first.

    A scene version that is new is staged in chunks (usd.staging) and published, with its
    record, in one last transaction: readers see all of it or none of it, and a writer that
    dies half-way leaves only an invisible pending version, taken over by the next store of the
    same content. A repeat of a recorded document writes nothing; a version stored before
    documents were recorded adopts this one in one transaction of MERGEs."""
    compact = record.compact(validate_scene_document(doc))
    canonical = canonical_json(compact)
    sha = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    doc = compact["document"]  # projected from the record, as a replay projects it
    receipt = receipt or Receipt.now()
    params = scene_parameters(compact)
    # Times come from the record, so a rebuild keeps which version is the latest.
    params["version"].update(documentSha256=sha, ingestedAtMs=receipt.received_at_ms)
    row = append.change_record("scene", "SceneDocument", None, receipt.row(), sha,
                                       canonical)
    node_id = params["version"]["nodeId"]
    staging = SceneStaging(db, params, chunk_prims, on_progress, lease_ms)
    staged = None
    if not db.read(lambda tx: scene_writes.scene_version_stored(tx, node_id)):
        staged = staging.stage()  # None: another writer stored it meanwhile

    def work(tx: neo4j.ManagedTransaction) -> tuple[int, bool, list[str]]:
        state = lineage_writes.lock_and_find_existing(tx, [sha])
        reused = scene_writes.other_contents_of_version(tx, doc["sceneId"], doc["version"],
                                                        doc["contentHash"])
        if sha in state.existing:  # recorded meanwhile (a concurrent identical store)
            return state.existing[sha], True, reused
        recorded = scene_writes.document_of_scene_version(tx, node_id)
        if recorded is not None and recorded != sha:
            raise ConflictError(
                f"scene {doc['sceneId']!r} version with contentHash {doc['contentHash']} is "
                f"stored from another document (sha256 {recorded}); a scene version's content "
                "is fixed by its layers, and its prim detail (--prims full or summary) by its "
                "first store: re-read the scene from its files, with the same --prims")
        if staged is not None and recorded is None:
            if not scene_writes.publish_pending_version(tx, params, staged):
                raise ConflictError(
                    f"scene {doc['sceneId']!r} version {doc['version']!r}: another request "
                    "took over storing it (this one was presumed dead); retry")
        else:
            scene_writes.store_scene(tx, params)  # stored before it was recorded: adopt
        return append.record_only(tx, [row], state)[sha], False, reused

    try:
        seq, duplicate, reused = db.write(work)
    except BaseException:
        if staged is not None:
            staging.clear()
        raise
    return StoredScene(
        scene_id=doc["sceneId"], version=doc["version"], content_hash=doc["contentHash"],
        node_id=node_id, layers=len(params["layers"]),
        prims=len(params["prims"]), variants=len(params["variants"]),
        missing_assets=list(doc["missingAssets"]), prim_detail=params["version"]["primDetail"],
        seq=seq, duplicate=duplicate,
        version_reused_by=reused,
    )


def apply_scene_record(tx: neo4j.ManagedTransaction, raw: str, at_ms: int) -> None:
    """Project a recorded scene document again (``db rebuild``), as of its record's time."""
    params = scene_parameters(json.loads(raw))
    params["version"].update(documentSha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
                             ingestedAtMs=at_ms)
    scene_writes.store_scene(tx, params)
