"""lineage-graph's custom facets for emitters, as openlineage-python facet classes.

Attach them like any facet of the OpenLineage Python client; the JSON Schemas are in
``schema/facets/``::

    from lineage_graph.emitter_facets import evaluation_facet, ml_model_facet, SliceMetric

    OutputDataset("s3://models", "detector/v2",
                  facets={"mlModel": ml_model_facet("detector", "v2", "model.safetensors")})
    Run(run_id, facets={"evaluation": evaluation_facet(
        ("detector", "v2"), [SliceMetric("mAP", 0.61, scene_variant=("warehouse",
                                                                     {"lighting": "night"}))])})

``usdScene``: :func:`lineage_graph.usd.scene_facet` (it reads the scene to hash it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import attr
from openlineage.client.generated.base import DatasetFacet, RunFacet
from openlineage.client.utils import RedactMixin

from lineage_graph import PRODUCER
from lineage_graph.usd.facet import UsdSceneDatasetFacet

_SPEC = "https://lineage-graph.dev/spec/facets/1-0-0"

__all__ = [
    "EvaluationRunFacet", "LabelingSchemaDatasetFacet", "MlModelDatasetFacet", "SliceMetric",
    "UsdSceneDatasetFacet", "evaluation_facet", "labeling_schema_facet", "ml_model_facet",
]


# -- mlModel -------------------------------------------------------------------------------------


@attr.define
class MlModelDatasetFacet(DatasetFacet):
    """The dataset holds this model version (schema/facets/MlModelDatasetFacet.json)."""

    name: str
    version: str
    digest: str
    framework: str | None = attr.field(default=None)
    format: str | None = attr.field(default=None)
    derivedFrom: list[str] | None = attr.field(default=None)
    tensors: dict[str, str] | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{_SPEC}/MlModelDatasetFacet.json#/$defs/MlModelDatasetFacet"


def ml_model_facet(name: str, version: str, path: str | Path, *, framework: str | None = None,
                   derived_from: Iterable[str] = ()) -> MlModelDatasetFacet:
    """Fingerprint the model at ``path`` (see lineage_graph.ml.fingerprint) and describe it,
    with its tensor digests, so modelOrigin can find its base by shared tensors."""
    from lineage_graph.ml.fingerprint import fingerprint

    found = fingerprint(Path(path))
    return MlModelDatasetFacet(
        name=name, version=version, digest=found.digest, framework=framework,
        format=found.format, derivedFrom=list(derived_from) or None,
        tensors=found.tensor_digests() or None, producer=PRODUCER,
    )


# -- labelingSchema ------------------------------------------------------------------------------


@attr.define
class LabelingSchemaRef(RedactMixin):
    name: str
    version: int


@attr.define
class LabelingSchemaDatasetFacet(DatasetFacet):
    """The dataset's labels were made under these labeling schema versions
    (schema/facets/LabelingSchemaDatasetFacet.json)."""

    schemas: list[LabelingSchemaRef]

    @staticmethod
    def _get_schema() -> str:
        return f"{_SPEC}/LabelingSchemaDatasetFacet.json#/$defs/LabelingSchemaDatasetFacet"


def labeling_schema_facet(versions: Mapping[str, int]) -> LabelingSchemaDatasetFacet:
    """``{schema name: version}`` as a labelingSchema facet."""
    return LabelingSchemaDatasetFacet(
        schemas=[LabelingSchemaRef(name=n, version=v) for n, v in sorted(versions.items())],
        producer=PRODUCER)


# -- evaluation ----------------------------------------------------------------------------------


@attr.define
class EvaluatedModel(RedactMixin):
    name: str
    version: str


@attr.define
class EvaluationDataset(RedactMixin):
    namespace: str
    name: str


@attr.define
class SceneVariantRef(RedactMixin):
    sceneId: str
    selections: dict[str, str]
    version: str | None = attr.field(default=None)
    contentHash: str | None = attr.field(default=None)


@attr.define
class MetricSliceFacet(RedactMixin):
    dimensions: dict[str, str | int | float | bool] | None = attr.field(default=None)
    sceneVariant: SceneVariantRef | None = attr.field(default=None)


@attr.define
class EvaluationMetric(RedactMixin):
    name: str
    value: float
    higherIsBetter: bool | None = attr.field(default=None)
    slice: MetricSliceFacet | None = attr.field(default=None)


@attr.define
class EvaluationRunFacet(RunFacet):
    """The run evaluated a model version and measured these metrics
    (schema/facets/EvaluationRunFacet.json)."""

    model: EvaluatedModel
    metrics: list[EvaluationMetric]
    dataset: EvaluationDataset | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{_SPEC}/EvaluationRunFacet.json#/$defs/EvaluationRunFacet"


@dataclass(frozen=True)
class SliceMetric:
    """One metric, overall or on a slice. ``scene_variant`` is ``(sceneId, full selections)``
    or ``(sceneId, selections, scene version)``."""

    name: str
    value: float
    higher_is_better: bool | None = None
    dimensions: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    scene_variant: tuple[str, Mapping[str, str]] | tuple[str, Mapping[str, str], str] | None = None

    def to_facet(self) -> EvaluationMetric:
        variant = None
        if self.scene_variant is not None:
            scene_id, selections, *version = self.scene_variant
            variant = SceneVariantRef(sceneId=scene_id, selections=dict(selections),
                                      version=version[0] if version else None)
        slice_ = None
        if self.dimensions or variant is not None:
            slice_ = MetricSliceFacet(dimensions=dict(self.dimensions) or None,
                                      sceneVariant=variant)
        return EvaluationMetric(name=self.name, value=float(self.value),
                                higherIsBetter=self.higher_is_better, slice=slice_)


def evaluation_facet(model: tuple[str, str], metrics: Iterable[SliceMetric],
                     dataset: tuple[str, str] | None = None) -> EvaluationRunFacet:
    """``model`` is ``(name, version)``; ``dataset`` is ``(namespace, name)``."""
    return EvaluationRunFacet(
        model=EvaluatedModel(name=model[0], version=model[1]),
        metrics=[m.to_facet() for m in metrics],
        dataset=None if dataset is None else EvaluationDataset(namespace=dataset[0],
                                                               name=dataset[1]),
        producer=PRODUCER)
