"""Read side of USD scenes for the GraphQL API."""

from __future__ import annotations

import json
from typing import Any

from lineage_graph.db import scene_reads as q
from lineage_graph.db.connection import Database
from lineage_graph.db.lineage_reads import one_node, rows
from lineage_graph.limits import check_limit


class SceneQueries:
    def __init__(self, db: Database, max_limit: int) -> None:
        self.db = db
        self.max_limit = max_limit

    def scene_version(self, scene_id: str, version: str | None,
                      content_hash: str | None = None) -> dict[str, Any] | None:
        """The version with this version string and/or content hash; the latest ingested of
        those that match (a reused version string can name several contents)."""
        return self.db.read(lambda tx: one_node(tx, q.SCENE_VERSION, sceneId=scene_id,
                                                version=version, contentHash=content_hash))

    def scene_version_by_id(self, node_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: one_node(tx, q.SCENE_VERSION_BY_ID, nodeId=node_id))

    def versions(self, scene_id: str) -> list[dict[str, Any]]:
        return self.db.read(lambda tx: rows(tx, q.VERSIONS_OF_SCENE, sceneId=scene_id))

    def layers(self, node_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        limit = check_limit(self.max_limit if limit is None else limit, self.max_limit)
        return self.db.read(lambda tx: rows(tx, q.LAYERS_OF_SCENE_VERSION, nodeId=node_id,
                                            limit=limit))

    def variant_sets(self, node_id: str) -> list[dict[str, Any]]:
        found = self.db.read(
            lambda tx: rows(tx, q.VARIANT_SETS_OF_SCENE_VERSION, nodeId=node_id))
        for row in found:
            row["existsUnder"] = json.loads(row["existsUnder"] or "{}")
        return found

    def variants(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self._limit(limit)
        found = self.db.read(lambda tx: rows(tx, q.VARIANTS_OF_SCENE_VERSION, nodeId=node_id,
                                             limit=limit))
        return [row["node"] for row in found]

    def default_prims(self, node_id: str, prefix: str, limit: int) -> list[dict[str, Any]]:
        limit = self._limit(limit)
        found = self.db.read(lambda tx: rows(tx, q.DEFAULT_PRIMS_OF_SCENE_VERSION,
                                             nodeId=node_id, pathPrefix=prefix, limit=limit))
        return [row["prim"] for row in found]

    def scene_variant(self, node_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: one_node(tx, q.SCENE_VARIANT, nodeId=node_id))

    def variant_prims(self, node_id: str, prefix: str, limit: int) -> list[dict[str, Any]]:
        limit = self._limit(limit)
        found = self.db.read(lambda tx: rows(tx, q.PRIMS_OF_SCENE_VARIANT, nodeId=node_id,
                                             pathPrefix=prefix, limit=limit))
        return [row["prim"] for row in found]

    def datasets_of_variant(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self._limit(limit)
        found = self.db.read(lambda tx: rows(tx, q.DATASETS_OF_SCENE_VARIANT, nodeId=node_id,
                                             limit=limit))
        return [row["node"] for row in found]

    def _limit(self, limit: int) -> int:
        return check_limit(limit, self.max_limit)
