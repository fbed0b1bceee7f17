"""Read side of USD scenes for the GraphQL API."""

from __future__ import annotations

import json
from typing import Any

from lineage_graph.db import scene_reads as q
from lineage_graph.db.connection import Database
from lineage_graph.limits import check_limit
from lineage_graph.usd.summary import require_prims


class SceneQueries:
    def __init__(self, db: Database, max_limit: int) -> None:
        self.db = db
        self.max_limit = max_limit

    def scene_version(self, scene_id: str, version: str | None,
                      content_hash: str | None = None) -> dict[str, Any] | None:
        """The version with this version string and/or content hash; the latest ingested of
        those that match (a reused version string can name several contents)."""
        return self.db.read(lambda tx: q.scene_version(tx, scene_id=scene_id, version=version,
                                                       content_hash=content_hash))

    def scene_version_by_id(self, node_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.scene_version_by_id(tx, node_id))

    def versions(self, scene_id: str) -> list[dict[str, Any]]:
        return self.db.read(lambda tx: q.versions_of_scene(tx, scene_id))

    def layers(self, node_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        limit = check_limit(self.max_limit if limit is None else limit, self.max_limit)
        return self.db.read(lambda tx: q.layers_of_scene_version(tx, node_id, limit))

    def variant_sets(self, node_id: str) -> list[dict[str, Any]]:
        found = self.db.read(lambda tx: q.variant_sets_of_scene_version(tx, node_id))
        for row in found:
            row["existsUnder"] = json.loads(row["existsUnder"] or "{}")
        return found

    def variants(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self._limit(limit)
        return self.db.read(lambda tx: q.variants_of_scene_version(tx, node_id, limit))

    def default_prims(self, node_id: str, prefix: str, limit: int,
                      prim_detail: str | None = None) -> list[dict[str, Any]]:
        require_prims(prim_detail, f"scene version {node_id}")
        limit = self._limit(limit)
        return self.db.read(lambda tx: q.default_prims_of_scene_version(
            tx, node_id=node_id, path_prefix=prefix, limit=limit))

    def scene_variant(self, node_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.scene_variant(tx, node_id))

    def variant_prims(self, node_id: str, prefix: str, limit: int,
                      prim_detail: str | None = None) -> list[dict[str, Any]]:
        require_prims(prim_detail, f"scene variant {node_id}")
        limit = self._limit(limit)
        return self.db.read(lambda tx: q.prims_of_scene_variant(
            tx, node_id=node_id, path_prefix=prefix, limit=limit))

    def datasets_of_variant(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self._limit(limit)
        return self.db.read(lambda tx: q.datasets_of_scene_variant(tx, node_id, limit))

    def _limit(self, limit: int) -> int:
        return check_limit(limit, self.max_limit)
