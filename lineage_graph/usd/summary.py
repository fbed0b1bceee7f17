"""Scene documents at summary granularity (``scene ingest --prims summary``): every prim list
replaced by counts, so a scene costs its layers, arcs, variant sets and variants, not its prims.

What a summary keeps per composition (the default one and each scene variant): the number of
prims, the number of each prim type, and how many prims the variant adds to and removes from
the default composition. What it loses: which prims (paths, kinds, instancing), so prim-level
questions (``prims``, the prim lists of ``sceneVariantDiff``) have no answer for such a scene.
The counts are the ones a full store of the same scene gives (tests/test_scene_summary.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from lineage_graph.errors import NotFoundError

FULL = "full"
SUMMARY = "summary"
PRIM_DETAILS = (FULL, SUMMARY)


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """The summary form of a full scene document (its prims counted, its lists emptied)."""
    default = doc["defaultPrims"]
    default_paths = {p["path"] for p in default}
    variants = []
    for variant in doc["variants"]:
        paths = {p["path"] for p in variant["prims"]}
        variants.append({
            "selections": variant["selections"], "prims": [],
            "primSummary": prim_summary(variant["prims"], added=len(paths - default_paths),
                                        removed=len(default_paths - paths)),
        })
    return {**doc, "primDetail": SUMMARY, "defaultPrims": [],
            "defaultPrimSummary": prim_summary(default), "variants": variants}


def prim_summary(prims: Iterable[dict[str, Any]], added: int = 0,
                 removed: int = 0) -> dict[str, Any]:
    by_type = Counter(p["type"] for p in prims)
    return {"count": sum(by_type.values()), "byType": dict(sorted(by_type.items())),
            "added": added, "removed": removed}


def require_prims(prim_detail: str | None, what: str) -> None:
    """Prim-level reads of a scene stored as a summary have no answer: say so rather than
    answer an empty list (``prim_detail`` None: stored before summaries existed, full)."""
    if prim_detail == SUMMARY:
        raise NotFoundError(f"{what} was stored with --prims summary: its prims are counted "
                            "(primCount, primTypes), not stored")
