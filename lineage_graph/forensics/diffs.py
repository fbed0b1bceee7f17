"""lineageDiff (upstream closures of two nodes) and sceneVariantDiff (selections and prims)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from lineage_graph.db import forensic_reads as q
from lineage_graph.db.connection import Database
from lineage_graph.errors import NotFoundError
from lineage_graph.forensics.provenance import walk_provenance
from lineage_graph.lineage.service import LineageService
from lineage_graph.usd.summary import SUMMARY


@dataclass
class LineageDiff:
    only_in_a: list[dict[str, Any]]
    only_in_b: list[dict[str, Any]]
    common: int
    truncated: bool


@dataclass
class SelectionChange:
    variant_set: str
    a: str | None
    b: str | None


@dataclass
class SceneVariantDiff:
    a: dict[str, Any]
    b: dict[str, Any]
    selection_changes: list[SelectionChange]
    prims_only_in_a: list[str]
    prims_only_in_b: list[str]
    common_prims: int
    # False when either variant has no stored prims (a placeholder, or a scene stored with
    # --prims summary): the prim lists are then empty, not a finding.
    prims_compared: bool = True


class DiffService:
    def __init__(self, db: Database, lineage: LineageService) -> None:
        self.db = db
        self.lineage = lineage

    def lineage_diff(self, a: str, b: str) -> LineageDiff:
        """What is upstream of a and not of b and the reverse, version-accurate (the versions
        runs read and the runs that wrote them). Either may be a dataset version: two versions
        of one output (say, at two DVC revisions) show what changed upstream of it."""
        closures = []
        for argument, node_id in (("a", a), ("b", b)):
            node = self.lineage.node(node_id) or self._dataset_version(node_id)
            if node is None:
                raise NotFoundError(f"{argument}: no node with id {node_id!r}")
            closures.append(walk_provenance(self.db, node, self.lineage.max_depth,
                                            self.lineage.max_nodes))
        ca, cb = closures
        in_a = set(ca.nodes) - {ca.root}
        in_b = set(cb.nodes) - {cb.root}
        return LineageDiff(
            only_in_a=[ca.nodes[n] for n in sorted(in_a - in_b)],
            only_in_b=[cb.nodes[n] for n in sorted(in_b - in_a)],
            common=len(in_a & in_b), truncated=ca.truncated or cb.truncated)

    def _dataset_version(self, node_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.dataset_version_root(tx, node_id))

    def scene_variant_diff(self, a: str, b: str) -> SceneVariantDiff:
        variants = []
        for argument, node_id in (("a", a), ("b", b)):
            found = self.db.read(partial(q.scene_variant, node_id=node_id))
            if found is None:
                raise NotFoundError(f"{argument}: no scene variant with id {node_id!r}")
            variants.append(found)
        va, vb = variants
        sel_a = json.loads(va.get("selections") or "{}")
        sel_b = json.loads(vb.get("selections") or "{}")
        changes = [SelectionChange(k, sel_a.get(k), sel_b.get(k))
                   for k in sorted(set(sel_a) | set(sel_b)) if sel_a.get(k) != sel_b.get(k)]
        if any(v.get("placeholder") or v.get("primDetail") == SUMMARY for v in variants):
            return SceneVariantDiff(va, vb, changes, [], [], 0, prims_compared=False)
        prims = self.db.read(lambda tx: q.prim_diff(tx, a, b))
        return SceneVariantDiff(va, vb, changes, sorted(prims["onlyInA"]),
                                sorted(prims["onlyInB"]), prims["common"])
