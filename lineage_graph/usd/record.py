"""The record of a scene document: lossless, and as compact as the graph's own form.

A scene document lists every scene variant's prims in full (a 100k-prim scene with 8 variants
is ~900k prim entries, ~100 MB of JSON); recorded as is, it would not fit one Neo4j transaction.
The record keeps the default composition's prims once and, per variant, what its selections add
(whole prims) and remove (paths): the form the graph stores (ADDS_PRIM / REMOVES_PRIM).
:func:`expand` gives the document back, with prim lists sorted by path; that sorted document is
what is projected, so a replay writes exactly what the first write did.
"""

from __future__ import annotations

from typing import Any

FORMAT = "lineage-graph.scene-record/1"


def compact(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` is a validated document: every prim has exactly PrimDoc's fields."""
    default = sorted(doc["defaultPrims"], key=_path)
    default_keys = {_key(p) for p in default}
    diffs = []
    for variant in doc["variants"]:
        prims = {_key(p): p for p in variant["prims"]}
        kept = {p["path"] for k, p in prims.items() if k in default_keys}
        diff = {
            "selections": variant["selections"],
            "adds": sorted((p for k, p in prims.items() if k not in default_keys), key=_path),
            "removes": sorted(p["path"] for p in default if p["path"] not in kept),
        }
        if "primSummary" in variant:  # a summary document: its prims are counted
            diff["primSummary"] = variant["primSummary"]
        diffs.append(diff)
    document = {k: v for k, v in doc.items() if k != "variants"}
    return {"format": FORMAT, "document": {**document, "defaultPrims": default},
            "variantDiffs": diffs}


def expand(record: dict[str, Any]) -> dict[str, Any]:
    document = record["document"]
    default = document["defaultPrims"]
    variants = []
    for diff in record["variantDiffs"]:
        removed = set(diff["removes"])
        prims = [p for p in default if p["path"] not in removed] + diff["adds"]
        variant = {"selections": diff["selections"], "prims": sorted(prims, key=_path)}
        if "primSummary" in diff:
            variant["primSummary"] = diff["primSummary"]
        variants.append(variant)
    return {**document, "variants": variants}


def _key(prim: dict[str, Any]) -> tuple[Any, ...]:
    """A prim's identity: all its fields (a tuple, not canonical JSON: 900k of them for a large
    scene)."""
    return (prim["path"], prim["type"], prim["kind"], prim["instanceable"],
            prim["instanceProxy"])


def _path(prim: dict[str, Any]) -> str:
    return str(prim["path"])
