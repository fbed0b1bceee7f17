"""The scene document as a typed model: what `POST /api/v1/scenes` accepts and
`read_scene(...).as_dict()` produces. Its JSON Schema is exported to
schema/scene-document.schema.json (a test keeps the file in step with this model)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict

from lineage_graph.errors import InvalidDocumentError
from lineage_graph.openlineage.errors import first_error

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# Stored as (part of) index keys, which Neo4j refuses over ~8 KB: bounded like facet keys.
SceneKey = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# Counts of a summary: exact in JSON doubles and in Neo4j's 64-bit integers.
Count = Annotated[int, Field(ge=0, le=2**53)]
PrimType = Annotated[str, StringConstraints(max_length=512)]
MAX_PRIM_TYPES = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerDoc(_Strict):
    path: NonEmpty
    sha256: Sha256


class ArcDoc(_Strict):
    kind: Literal["SUBLAYER", "REFERENCE", "PAYLOAD"]
    layer: NonEmpty
    target: NonEmpty
    resolved: str | None = None
    prim: str | None = None


# A TypedDict, not a model: a large scene document holds ~900k prims, and validating them into
# dicts is about four times faster than into model instances dumped back to dicts.
@with_config(ConfigDict(extra="forbid"))
class PrimDoc(TypedDict):
    path: Annotated[str, StringConstraints(pattern=r"^/")]
    type: str
    kind: str
    instanceable: bool
    instanceProxy: bool


class PrimSummaryDoc(_Strict):
    """A composition's prims counted instead of listed (``primDetail: summary``): how many,
    how many of each type, and how many the variant adds to and removes from the default
    composition (0 and 0 for the default composition itself)."""

    count: Count
    byType: Annotated[dict[PrimType, Count], Field(max_length=MAX_PRIM_TYPES)]
    added: Count = 0
    removed: Count = 0


class VariantSetDoc(_Strict):
    name: NonEmpty
    options: list[NonEmpty]
    default: str | None = None
    existsUnder: dict[str, str] = Field(default_factory=dict)


class SceneVariantDoc(_Strict):
    selections: dict[str, str]
    prims: list[PrimDoc]
    primSummary: PrimSummaryDoc | None = None  # with primDetail "summary" (prims then empty)


class SceneDocumentModel(_Strict):
    sceneId: SceneKey
    version: SceneKey
    contentHash: Sha256
    rootLayer: NonEmpty
    rootPrim: Annotated[str, StringConstraints(pattern=r"^/")]
    layers: list[LayerDoc]
    arcs: list[ArcDoc]
    missingAssets: list[str]
    variantSets: list[VariantSetDoc]
    defaultSelections: dict[str, str]
    defaultPrims: list[PrimDoc]
    variants: list[SceneVariantDoc]
    # "summary": the prims are counted, not listed (docs/usd.md#granularity); absent: "full".
    primDetail: Literal["full", "summary"] = "full"
    defaultPrimSummary: PrimSummaryDoc | None = None


def scene_content_hash(layers: Iterable[tuple[str, str]]) -> str:
    """One hash over every dependent layer, ``(path, sha256)`` pairs: an edited layer anywhere
    in the scene gives a new hash."""
    digest = hashlib.sha256()
    for path, sha256 in sorted(layers):
        digest.update(f"{len(path)}:{path}:{sha256}\n".encode())
    return digest.hexdigest()


def validate_scene_document(raw: Any) -> dict[str, Any]:
    """The document as plain JSON data, or InvalidDocumentError naming the first bad field
    (including a ``contentHash`` that is not the hash of the document's layers)."""
    if not isinstance(raw, dict):
        raise InvalidDocumentError("", "a scene document must be a JSON object")
    try:
        model = SceneDocumentModel.model_validate(raw)
    except ValidationError as exc:
        field, problem = first_error(exc)
        raise InvalidDocumentError(field, problem) from exc
    expected = scene_content_hash((layer.path, layer.sha256) for layer in model.layers)
    if model.contentHash != expected:
        raise InvalidDocumentError(
            "contentHash", f"{model.contentHash} is not the hash of the document's layers "
                           f"({expected})")
    _check_prim_detail(model)
    dumped = model.model_dump()
    if model.primDetail == "full":
        # A full document reads as it did before summaries existed: the same canonical JSON,
        # so documents recorded earlier are still recognised as repeats.
        for key in ("primDetail", "defaultPrimSummary"):
            del dumped[key]
        for variant in dumped["variants"]:
            del variant["primSummary"]
    return dumped


def _check_prim_detail(model: SceneDocumentModel) -> None:
    """A full document lists prims, each path once per composition, and carries no summary; a
    summary document carries consistent counts and no prim."""
    if model.primDetail == "full":
        _check_full(model)
    else:
        _check_summary(model)


def _check_full(model: SceneDocumentModel) -> None:
    if model.defaultPrimSummary is not None:
        raise InvalidDocumentError("defaultPrimSummary",
                                   "only allowed when primDetail is summary")
    compositions = [("defaultPrims", model.defaultPrims)] + [
        (f"variants[{i}].prims", v.prims) for i, v in enumerate(model.variants)]
    for i, variant in enumerate(model.variants):
        if variant.primSummary is not None:
            raise InvalidDocumentError(f"variants[{i}].primSummary",
                                       "only allowed when primDetail is summary")
    for field, prims in compositions:
        if len({p["path"] for p in prims}) != len(prims):  # a stage has one prim per path
            counted = Counter(p["path"] for p in prims)
            duplicate = next(path for path, n in counted.items() if n > 1)
            raise InvalidDocumentError(field, f"prim path {duplicate!r} appears twice")


def _check_summary(model: SceneDocumentModel) -> None:
    default = model.defaultPrimSummary
    if default is None:
        raise InvalidDocumentError("defaultPrimSummary", "required when primDetail is summary")
    if model.defaultPrims:
        raise InvalidDocumentError("defaultPrims", "must be empty when primDetail is summary "
                                                   "(the prims are counted, not listed)")
    _check_counts("defaultPrimSummary", default)
    if default.added or default.removed:
        raise InvalidDocumentError("defaultPrimSummary",
                                   "the default composition adds and removes nothing")
    for i, variant in enumerate(model.variants):
        counted = variant.primSummary
        if counted is None:
            raise InvalidDocumentError(f"variants[{i}].primSummary",
                                       "required when primDetail is summary")
        if variant.prims:
            raise InvalidDocumentError(f"variants[{i}].prims",
                                       "must be empty when primDetail is summary")
        _check_counts(f"variants[{i}].primSummary", counted)
        if counted.removed > default.count or \
                counted.count != default.count + counted.added - counted.removed:
            raise InvalidDocumentError(
                f"variants[{i}].primSummary",
                f"count {counted.count} is not the default composition's {default.count} plus "
                f"{counted.added} added minus {counted.removed} removed")


def _check_counts(field: str, counted: PrimSummaryDoc) -> None:
    if sum(counted.byType.values()) != counted.count:
        raise InvalidDocumentError(f"{field}.byType",
                                   f"counts {sum(counted.byType.values())} prims, not "
                                   f"{counted.count}")


def scene_document_json_schema() -> str:
    schema = SceneDocumentModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lineage-graph scene document"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
