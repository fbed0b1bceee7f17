"""Read side of model versions."""

from __future__ import annotations

from typing import Any

from lineage_graph.db import models as q
from lineage_graph.db.connection import Database
from lineage_graph.db.lineage_reads import one_node, rows
from lineage_graph.limits import check_limit


class ModelQueries:
    def __init__(self, db: Database, max_limit: int) -> None:
        self.db = db
        self.max_limit = max_limit

    def model_version(self, name: str, version: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: one_node(tx, q.MODEL_VERSION, name=name, version=version))

    def models(self, limit: int) -> list[dict[str, Any]]:
        limit = check_limit(limit, self.max_limit)
        return [r["node"] for r in self.db.read(lambda tx: rows(tx, q.MODEL_VERSIONS,
                                                                limit=limit))]

    def trained_by(self, node_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: one_node(tx, q.TRAINED_BY, nodeId=node_id))

    def derived_from(self, node_id: str) -> list[dict[str, Any]]:
        return [r["node"] for r in self.db.read(lambda tx: rows(tx, q.DERIVED_FROM,
                                                                nodeId=node_id))]
