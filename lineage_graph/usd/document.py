"""The scene document as a typed model: what `POST /api/v1/scenes` accepts and
`read_scene(...).as_dict()` produces. Its JSON Schema is exported to
schema/scene-document.schema.json (a test keeps the file in step with this model)."""

from __future__ import annotations

import hashlib
import json
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


class VariantSetDoc(_Strict):
    name: NonEmpty
    options: list[NonEmpty]
    default: str | None = None
    existsUnder: dict[str, str] = Field(default_factory=dict)


class SceneVariantDoc(_Strict):
    selections: dict[str, str]
    prims: list[PrimDoc]


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
    return model.model_dump()


def scene_document_json_schema() -> str:
    schema = SceneDocumentModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lineage-graph scene document"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
