"""The ``usdScene`` dataset facet for emitters, as an openlineage-python facet class."""

from __future__ import annotations

from pathlib import Path

import attr
from openlineage.client.generated.base import DatasetFacet

from lineage_graph import PRODUCER

SCHEMA_URL = ("https://lineage-graph.dev/spec/facets/1-0-0/UsdSceneDatasetFacet.json"
              "#/$defs/UsdSceneDatasetFacet")


@attr.define
class UsdSceneDatasetFacet(DatasetFacet):
    """The USD scene variant a dataset was rendered from.

    JSON Schema: schema/facets/UsdSceneDatasetFacet.json.
    """

    sceneId: str
    rootLayer: str
    variantSelections: dict[str, str]
    version: str | None = attr.field(default=None)
    contentHash: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def scene_facet(path: str | Path, selections: dict[str, str] | None = None,
                asset_root: str | Path | None = None) -> UsdSceneDatasetFacet:
    """Read the scene at ``path`` and describe the variant under ``selections`` (completed with
    the scene's defaults), with the content hash computed. Put the result under a dataset's
    facets as ``usdScene``."""
    from lineage_graph.usd.extract import read_scene

    doc = read_scene(Path(path), asset_root=Path(asset_root) if asset_root else None,
                     selections=[selections or {}])
    return UsdSceneDatasetFacet(
        sceneId=doc.scene_id, rootLayer=doc.root_layer,
        variantSelections=dict(doc.variants[0].selections), version=doc.version,
        contentHash=doc.content_hash, producer=PRODUCER,
    )
