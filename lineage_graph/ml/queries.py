"""Read side of model versions: lookups, metrics and origin by shared tensors."""

from __future__ import annotations

from typing import Any

from lineage_graph.db import models as q
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError, NotFoundError
from lineage_graph.limits import check_limit


class ModelQueries:
    def __init__(self, db: Database, max_limit: int) -> None:
        self.db = db
        self.max_limit = max_limit

    def model_version(self, name: str, version: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.model_version(tx, name, version))

    def models(self, limit: int) -> list[dict[str, Any]]:
        limit = check_limit(limit, self.max_limit)
        return self.db.read(lambda tx: q.model_versions(tx, limit))

    def trained_by(self, node_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.trained_by(tx, node_id))

    def derived_from(self, node_id: str) -> list[dict[str, Any]]:
        return self.db.read(lambda tx: q.derived_from(tx, node_id))

    def metrics(self, node_id: str, name: str | None, limit: int | None = None
                ) -> list[dict[str, Any]]:
        """Each metric row: ``metric``, the ``run`` that measured it and its ``sceneVariant``."""
        limit = check_limit(self.max_limit if limit is None else limit, self.max_limit)
        return self.db.read(lambda tx: q.metrics_of_model(tx, node_id=node_id, name=name,
                                                          limit=limit))

    def origin(self, digest: str, limit: int) -> list[dict[str, Any]]:
        """Known model versions ranked as the origin of the model with ``digest`` (see
        docs/labeling-and-models.md#model-origin)."""
        limit = check_limit(limit, self.max_limit)
        known = self.db.read(lambda tx: q.models_with_digest(tx, digest))
        if known["models"] == 0:
            raise NotFoundError(f"no model version has digest {digest!r}")
        if known["tensorLinks"] == 0:
            raise InvalidRequestError(
                f"the model version(s) with digest {digest!r} carry no tensor digests: send "
                "their mlModel facet with `tensors` (`lineage-graph model fingerprint --json` "
                "prints them)", field="digest")
        return self.db.read(lambda tx: q.model_origin(tx, digest, limit))
