"""GraphQL types of USD scenes: Scene (one scene version), SceneVariant, layers, prims."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from lineage_graph.graphql.context import ListLimit, off_loop, services
from lineage_graph.graphql.types import Dataset, to_datetime


@strawberry.enum(description="How a scene version's prims are stored.")
class PrimDetail(Enum):
    FULL = "full"
    SUMMARY = "summary"


@strawberry.type(description="How many prims of one type a composition has.")
class PrimTypeCount:
    type: str
    count: int


def _prim_detail(row: dict[str, Any]) -> PrimDetail:
    return PrimDetail(row.get("primDetail") or "full")  # stored before summaries: full


def _prim_types(row: dict[str, Any]) -> list[PrimTypeCount] | None:
    """None for what was stored before prim types were counted (re-stored or rebuilt, it
    has them), and for a variant no scene has stored yet."""
    if row.get("primTypeCounts") is None:
        return None
    counts = json.loads(row["primTypeCounts"])
    return [PrimTypeCount(type=t, count=n) for t, n in sorted(counts.items())]


@strawberry.type
class ScenePrim:
    path: str
    type: str
    kind: str
    instanceable: bool
    instance_proxy: bool

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ScenePrim:
        return cls(path=row["path"], type=row["type"], kind=row["kind"],
                   instanceable=row["instanceable"], instance_proxy=row["instanceProxy"])


@strawberry.type(description="A composition arc a layer authors.")
class CompositionArc:
    kind: str = strawberry.field(description="SUBLAYER, REFERENCE or PAYLOAD")
    target: str
    resolved: str | None
    prim: str | None


@strawberry.type
class SceneLayer:
    path: str
    sha256: str | None
    missing: bool
    arcs: list[CompositionArc]


@strawberry.type
class VariantSet:
    name: str
    options: list[str]
    default_option: str | None
    exists_under: list[VariantSelection] = strawberry.field(
        description="For a nested set: the selections under which it exists.")


@strawberry.type
class VariantSelection:
    set: str
    option: str


def _selections(mapping: dict[str, str]) -> list[VariantSelection]:
    return [VariantSelection(set=k, option=v) for k, v in sorted(mapping.items())]


@strawberry.type(description="A stored version of a scene: the version string its file "
                             "declares, and its content hash (its identity).")
class SceneVersionRef:
    version: str
    content_hash: str
    ingested_at: datetime | None


@strawberry.type(description="One version of a USD scene (its content hash is its identity).")
class Scene:
    id: strawberry.ID
    scene_id: str
    version: str
    content_hash: str
    root_layer: str
    root_prim: str
    missing_assets: list[str]
    prim_detail: PrimDetail = strawberry.field(description=(
        "FULL: every prim is stored; SUMMARY: prims are counted (primCount, primTypes), and "
        "prims answers an error."))
    prim_count: int | None = strawberry.field(description="Prims of the default composition.")
    prim_types: list[PrimTypeCount] | None = strawberry.field(
        description="Prims of the default composition by type (null: stored before types "
                    "were counted; `db rebuild` fills it in).")

    @strawberry.field(description="Every ingested version of this scene, newest first. A "
                                  "version string declared for two contents is listed twice, "
                                  "each with its content hash.")
    async def versions(self, info: strawberry.Info) -> list[SceneVersionRef]:
        found = await off_loop(services(info).scenes.versions, self.scene_id)
        return [SceneVersionRef(version=r["version"], content_hash=r["contentHash"],
                                ingested_at=to_datetime(r["ingestedAt"])) for r in found]

    @strawberry.field
    async def layers(self, info: strawberry.Info, limit: ListLimit = None) -> list[SceneLayer]:
        found = await off_loop(services(info).scenes.layers, str(self.id), limit)
        layers = [SceneLayer(path=r["path"], sha256=r["sha256"], missing=False,
                             arcs=[CompositionArc(**arc) for arc in r["arcs"]]) for r in found]
        layers += [SceneLayer(path=p, sha256=None, missing=True, arcs=[])
                   for p in self.missing_assets]
        return layers

    @strawberry.field
    async def variant_sets(self, info: strawberry.Info) -> list[VariantSet]:
        found = await off_loop(services(info).scenes.variant_sets, str(self.id))
        return [VariantSet(name=r["name"], options=r["options"], default_option=r["default"],
                           exists_under=_selections(r["existsUnder"])) for r in found]

    @strawberry.field
    async def variants(self, info: strawberry.Info, limit: int = 100) -> list[SceneVariant]:
        found = await off_loop(services(info).scenes.variants, str(self.id), limit)
        return [SceneVariant.from_row(r) for r in found]

    @strawberry.field(description="Prims of the default composition, by path.")
    async def prims(self, info: strawberry.Info, path_prefix: str = "/",
                    limit: int = 100) -> list[ScenePrim]:
        found = await off_loop(services(info).scenes.default_prims, str(self.id), path_prefix,
                               limit, self.prim_detail.value)
        return [ScenePrim.from_row(r) for r in found]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Scene:
        return cls(id=strawberry.ID(row["nodeId"]), scene_id=row["sceneId"],
                   version=row["version"], content_hash=row["contentHash"],
                   root_layer=row["rootLayer"], root_prim=row["rootPrim"],
                   missing_assets=list(row.get("missingAssets") or []),
                   prim_detail=_prim_detail(row), prim_count=row.get("primCount"),
                   prim_types=_prim_types(row))


@strawberry.type(description="A scene version under a full map of variant selections.")
class SceneVariant:
    id: strawberry.ID
    prim_count: int | None
    prims_added: int | None = strawberry.field(
        description="Prims its selections add to the default composition.")
    prims_removed: int | None = strawberry.field(
        description="Prims its selections remove from the default composition.")
    prim_types: list[PrimTypeCount] | None = strawberry.field(
        description="Its prims by type (null: a placeholder, or stored before types were "
                    "counted).")
    prim_detail: PrimDetail
    selections: list[VariantSelection]
    version_node_id: strawberry.Private[str | None]

    @strawberry.field
    async def scene(self, info: strawberry.Info) -> Scene | None:
        if self.version_node_id is None:
            return None
        row = await off_loop(services(info).scenes.scene_version_by_id, self.version_node_id)
        return Scene.from_row(row) if row else None

    @strawberry.field(description="The variant's composed prims, by path.")
    async def prims(self, info: strawberry.Info, path_prefix: str = "/",
                    limit: int = 100) -> list[ScenePrim]:
        found = await off_loop(services(info).scenes.variant_prims, str(self.id), path_prefix,
                               limit, self.prim_detail.value)
        return [ScenePrim.from_row(r) for r in found]

    @strawberry.field(description="Datasets rendered from this scene variant (usdScene facet).")
    async def datasets(self, info: strawberry.Info, limit: int = 100) -> list[Dataset]:
        found = await off_loop(services(info).scenes.datasets_of_variant, str(self.id), limit)
        return [Dataset.from_row(r) for r in found]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SceneVariant:
        return cls(id=strawberry.ID(row["nodeId"]), prim_count=row.get("primCount"),
                   prims_added=row.get("primsAdded"), prims_removed=row.get("primsRemoved"),
                   prim_types=_prim_types(row), prim_detail=_prim_detail(row),
                   selections=_selections(json.loads(row.get("selections") or "{}")),
                   version_node_id=row.get("versionNodeId"))
