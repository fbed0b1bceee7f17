"""Typed models of the facets lineage-graph interprets, and the parser that applies them.

A facet the platform interprets is parsed into its model. When it does not match, the event is
still accepted: the facet is kept raw, flagged as malformed with the reason, and reported back
to the emitter. Facets the platform does not interpret are kept verbatim.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from lineage_graph.ids import canonical_run_id
from lineage_graph.openlineage.canonical import canonical_json
from lineage_graph.openlineage.errors import describe_validation_error

# Facet values that become index keys (model name and version, digests, metric names, scene ids):
# Neo4j refuses range-index keys over ~8 KB, and a composite key holds two of these at up to
# 4 UTF-8 bytes a character. Longer ones make the facet malformed (kept raw, flagged) instead of
# a write Neo4j refuses after the event was acknowledged.
KEY_TEXT_MAX = 512
KeyText = Annotated[str, Field(min_length=1, max_length=KEY_TEXT_MAX)]

FacetScope = Literal["run", "job", "dataset", "input", "output"]


class BaseFacet(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    producer: str = Field(alias="_producer", min_length=1)
    schemaURL: str = Field(alias="_schemaURL", min_length=1)
    deleted: bool | None = Field(default=None, alias="_deleted")

    def derived_properties(self) -> dict[str, Any]:
        """Properties copied onto the owning node, so Cypher users can filter on them."""
        return {}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- run facets --------------------------------------------------------------------------------


class ParentRun(_Open):
    # As the event's own runId (models.RunId): canonical when a UUID, else as sent (scoped
    # by its job when stored: ids.scoped_run_id). No length bound beyond the event's: parents
    # recorded before runIds were bounded must replay.
    runId: Annotated[str, Field(min_length=1), AfterValidator(canonical_run_id)]


class ParentJob(_Open):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)


class ParentRunFacet(BaseFacet):
    run: ParentRun
    job: ParentJob
    root: dict[str, Any] | None = None


class NominalTimeRunFacet(BaseFacet):
    nominalStartTime: datetime
    nominalEndTime: datetime | None = None

    def derived_properties(self) -> dict[str, Any]:
        return {"nominalStartTime": self.nominalStartTime, "nominalEndTime": self.nominalEndTime}


class ErrorMessageRunFacet(BaseFacet):
    message: str
    programmingLanguage: str
    stackTrace: str | None = None

    def derived_properties(self) -> dict[str, Any]:
        return {"errorMessage": self.message}


class ProcessingEngineRunFacet(BaseFacet):
    version: str
    name: str | None = None
    openlineageAdapterVersion: str | None = None

    def derived_properties(self) -> dict[str, Any]:
        return {"processingEngine": self.name, "processingEngineVersion": self.version}


# -- job facets --------------------------------------------------------------------------------


class SQLJobFacet(BaseFacet):
    query: str
    dialect: str | None = None

    def derived_properties(self) -> dict[str, Any]:
        return {"sql": self.query}


class JobTypeJobFacet(BaseFacet):
    processingType: str
    integration: str
    jobType: str | None = None

    def derived_properties(self) -> dict[str, Any]:
        return {
            "processingType": self.processingType,
            "integration": self.integration,
            "jobType": self.jobType,
        }


class DocumentationFacet(BaseFacet):
    description: str
    contentType: str | None = None

    def derived_properties(self) -> dict[str, Any]:
        return {"description": self.description}


class Owner(_Open):
    name: str
    type: str | None = None


class OwnershipFacet(BaseFacet):
    owners: list[Owner] = Field(default_factory=list)

    def derived_properties(self) -> dict[str, Any]:
        return {"owners": [o.name for o in self.owners]}


# -- dataset facets ----------------------------------------------------------------------------


class SchemaField(_Open):
    name: str
    type: str | None = None
    description: str | None = None
    ordinal_position: int | None = None
    fields: list[SchemaField] | None = None


class SchemaDatasetFacet(BaseFacet):
    fields: list[SchemaField] = Field(default_factory=list)


class InputField(_Open):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    field: str = Field(min_length=1)
    transformations: list[dict[str, Any]] | None = None


class ColumnLineageField(_Open):
    inputFields: list[InputField]
    transformationDescription: str | None = None
    transformationType: str | None = None


class ColumnLineageDatasetFacet(BaseFacet):
    fields: dict[str, ColumnLineageField]
    dataset: list[InputField] | None = None


class DatasourceDatasetFacet(BaseFacet):
    name: str | None = None
    uri: str | None = None

    def derived_properties(self) -> dict[str, Any]:
        return {"sourceName": self.name, "sourceUri": self.uri}


class SymlinkIdentifier(_Open):
    namespace: str
    name: str
    type: str


class SymlinksDatasetFacet(BaseFacet):
    """Other names of the same dataset (Spark: a file path also known as a Hive table)."""

    identifiers: list[SymlinkIdentifier] = Field(default_factory=list)


class DatasetVersionDatasetFacet(BaseFacet):
    datasetVersion: str = Field(min_length=1)


class DataQualityMetricsFacet(BaseFacet):
    columnMetrics: dict[str, Any]
    rowCount: int | None = None
    bytes: int | None = None
    fileCount: int | None = None


class StatisticsFacet(BaseFacet):
    rowCount: int | None = None
    size: int | None = None
    fileCount: int | None = None


class UsdSceneDatasetFacet(BaseFacet):
    """lineage-graph's custom facet (schema/facets/UsdSceneDatasetFacet.json): the USD scene
    variant a dataset was rendered from. ``variantSelections`` is the full selection map."""

    sceneId: KeyText
    version: str | None = Field(default=None, max_length=KEY_TEXT_MAX)
    contentHash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    rootLayer: str = Field(min_length=1)
    variantSelections: dict[str, str] = Field(default_factory=dict)


class MlModelDatasetFacet(BaseFacet):
    """lineage-graph's custom facet (schema/facets/MlModelDatasetFacet.json): the dataset holds
    this model version, produced by the run that writes it."""

    name: KeyText
    version: KeyText
    digest: KeyText
    framework: str | None = None
    format: str | None = None
    derivedFrom: list[KeyText] = Field(default_factory=list)
    # Tensor name -> tensor digest, as printed by `lineage-graph model fingerprint`: lets
    # modelOrigin find base models by shared tensors even when nobody declared derivedFrom.
    tensors: dict[str, KeyText] | None = None


class LabelingSchemaRef(_Open):
    name: str = Field(min_length=1, max_length=200)  # as labeling schema definitions
    version: int = Field(strict=True, ge=1)


class LabelingSchemaDatasetFacet(BaseFacet):
    """lineage-graph's custom facet (schema/facets/LabelingSchemaDatasetFacet.json): the
    dataset's labels were made under these labeling schema versions (labels made elsewhere)."""

    schemas: list[LabelingSchemaRef] = Field(min_length=1)


class ModelRef(_Open):
    name: KeyText
    version: KeyText


class DatasetRef(_Open):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)


class SceneVariantRef(_Open):
    """A scene variant by scene id and its full selection map (as in the usdScene facet)."""

    sceneId: KeyText
    version: str | None = Field(default=None, max_length=KEY_TEXT_MAX)
    contentHash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    selections: dict[str, str] = Field(default_factory=dict)


class MetricSlice(_Open):
    dimensions: dict[str, str | int | float | bool] = Field(default_factory=dict)
    sceneVariant: SceneVariantRef | None = None


class EvaluationMetric(_Open):
    name: KeyText
    value: float = Field(strict=True, allow_inf_nan=False)
    higherIsBetter: bool | None = None
    slice: MetricSlice | None = None


class EvaluationRunFacet(BaseFacet):
    """lineage-graph's custom facet (schema/facets/EvaluationRunFacet.json): the run evaluated
    a model version and measured these metrics, overall or per slice."""

    model: ModelRef
    dataset: DatasetRef | None = None
    metrics: list[EvaluationMetric] = Field(min_length=1)


# Which model interprets which facet key in which place of the event.
FACET_MODELS: dict[tuple[FacetScope, str], type[BaseFacet]] = {
    ("run", "parent"): ParentRunFacet,
    ("run", "nominalTime"): NominalTimeRunFacet,
    ("run", "errorMessage"): ErrorMessageRunFacet,
    ("run", "processing_engine"): ProcessingEngineRunFacet,
    ("job", "sql"): SQLJobFacet,
    ("job", "jobType"): JobTypeJobFacet,
    ("job", "documentation"): DocumentationFacet,
    ("job", "ownership"): OwnershipFacet,
    ("dataset", "schema"): SchemaDatasetFacet,
    ("dataset", "columnLineage"): ColumnLineageDatasetFacet,
    ("dataset", "dataSource"): DatasourceDatasetFacet,
    ("dataset", "symlinks"): SymlinksDatasetFacet,
    ("dataset", "version"): DatasetVersionDatasetFacet,
    ("dataset", "documentation"): DocumentationFacet,
    ("dataset", "ownership"): OwnershipFacet,
    ("dataset", "dataQualityMetrics"): DataQualityMetricsFacet,
    ("input", "dataQualityMetrics"): DataQualityMetricsFacet,
    ("input", "inputStatistics"): StatisticsFacet,
    ("output", "outputStatistics"): StatisticsFacet,
    ("dataset", "usdScene"): UsdSceneDatasetFacet,
    ("dataset", "mlModel"): MlModelDatasetFacet,
    ("dataset", "labelingSchema"): LabelingSchemaDatasetFacet,
    ("run", "evaluation"): EvaluationRunFacet,
}


# lineage-graph's own facets; each has a JSON Schema in schema/facets/<ModelName>.json.
CUSTOM_FACETS: frozenset[tuple[FacetScope, str]] = frozenset(
    {("dataset", "usdScene"), ("dataset", "mlModel"), ("dataset", "labelingSchema"),
     ("run", "evaluation")})


@dataclass(frozen=True)
class ParsedFacet:
    """One facet as received, with its typed model when it is one the platform interprets."""

    scope: FacetScope
    name: str
    raw: Any
    path: str  # where it sits in the event, e.g. "outputs[0].facets.ownership"
    canonical_payload: str  # the facet as canonical JSON: what the graph stores and hashes
    model: BaseFacet | None = None
    error: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    # The first 16 hex digits of the payload's sha256 (ties between facets of one time are
    # broken by it); computed once, however often the write plan asks.
    payload_digest: str = field(init=False, repr=False, compare=False)

    @property
    def malformed(self) -> bool:
        return self.error is not None

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload_digest", hashlib.sha256(
            self.canonical_payload.encode("utf-8")).hexdigest()[:16])


# What validating a facet gave: its model, or why it is malformed; and the properties it copies
# onto its owner.
_Validated = tuple[BaseFacet | None, str | None, dict[str, Any]]


class _RecentlyValidated:
    """Facets validated lately, by scope, name and canonical payload. Emitters send the same
    facet again and again (the schema of a table in every run that reads it, a run's facets in
    its START and COMPLETE events): validating it once saves most of the validation of a
    batch. A hit's model is shared by the events that sent that facet, so models are never
    changed after validation. Bounded (least recently used out); shared by ingestion's
    threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._found: OrderedDict[tuple[str, str, str], _Validated] = OrderedDict()
        self._lock = threading.Lock()

    def validated(self, scope: str, name: str, canonical: str, raw: Any,
                  model_type: type[BaseFacet]) -> _Validated:
        key = (scope, name, canonical)
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
                return found
        try:
            model = model_type.model_validate(raw)
            found = (model, None, model.derived_properties())
        except ValidationError as exc:
            found = (None, describe_validation_error(exc), {})
        with self._lock:
            self._found[key] = found
            if len(self._found) > self._size:
                self._found.popitem(last=False)
        return found


_RECENT = _RecentlyValidated(size=4096)


def parse_facets(scope: FacetScope, facets: dict[str, Any], path: str,
                 floatless: bool = False) -> list[ParsedFacet]:
    """``floatless``: the facets hold no float (``json_limits.JsonScan``)."""
    parsed: list[ParsedFacet] = []
    for name, raw in facets.items():
        facet_path = f"{path}.{name}"
        canonical = canonical_json(raw, floatless)
        model_type = FACET_MODELS.get((scope, name))
        if model_type is None:
            parsed.append(ParsedFacet(scope, name, raw, facet_path, canonical))
            continue
        model, error, properties = _RECENT.validated(scope, name, canonical, raw, model_type)
        parsed.append(ParsedFacet(scope, name, raw, facet_path, canonical, model=model,
                                  error=error, properties=dict(properties)))
    return parsed
