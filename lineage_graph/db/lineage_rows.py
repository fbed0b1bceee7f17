"""The rows the lineage write statements take: one TypedDict per row list, built by the write
plan (``lineage_graph.ingest.plan``) and read by the Cypher of ``lineage_writes`` as ``row.KEY``.

These declarations are the contract between the two: mypy checks the plan's row literals
against them, and ``tests/test_write_rows.py`` checks that every ``row.KEY`` a statement reads
is declared here and every declared key is read. Rows carrying times are generic in the time
type: the plan folds events with ``datetime`` values (earliest/latest comparisons) and sends
ISO-8601 strings, which the Cypher turns into DateTime (cheaper for the driver than packing
Python datetimes)."""

from __future__ import annotations

from typing import Any, Generic, NotRequired, TypedDict, TypeVar

TimeT = TypeVar("TimeT")


class RecordRow(TypedDict, Generic[TimeT]):
    """A record of the ledger before it is numbered and chained (lineage_graph.ledger.chain)."""

    recordType: str
    kind: str
    subject: str | None
    receivedAtMs: int
    keyId: str | None
    sha256: str
    raw: str
    eventType: str | None
    eventTime: TimeT | None
    runId: str | None
    warnings: list[str]


class ChainedRecordRow(RecordRow[str]):
    """A record as RECORD_EVENTS writes it: numbered and chained after the record's head."""

    seq: int
    prevHash: str
    chainHash: str
    chainVersion: int


class NamespaceRow(TypedDict):
    key: str
    name: str


class NamedNodeRow(TypedDict):
    """A job or a dataset."""

    nodeId: str
    namespace: str
    name: str
    namespaceKey: str


class RunRow(TypedDict, Generic[TimeT]):
    runId: str
    nodeId: str
    stateKey: str | None
    state: str | None
    stateTime: TimeT | None
    terminal: bool
    firstEventTime: TimeT | None
    lastEventTime: TimeT | None
    startEventTime: TimeT | None
    codeKey: str | None
    codeDigest: str | None


class RunJobRow(TypedDict):
    jobId: str
    runId: str


class ParentRow(TypedDict):
    child: str
    parent: str


class JobEdgeRow(TypedDict):
    """A job's READS or WRITES edge with the span of events that showed it."""

    jobId: str
    datasetId: str
    since: str
    until: str


class VersionRow(TypedDict, Generic[TimeT]):
    nodeId: str
    datasetId: str
    version: str
    createdAt: TimeT | None


class RunReadRow(TypedDict):
    runId: str
    datasetId: str
    pinnedVersion: str | None
    versionId: str | None
    since: str


class RunWriteRow(TypedDict):
    runId: str
    datasetId: str
    versionId: str
    since: str


class FacetRow(TypedDict, Generic[TimeT]):
    facetId: str
    ownerId: str
    place: str
    name: str
    payload: str
    eventTime: TimeT
    sortKey: str
    malformed: bool
    error: str | None
    properties: dict[str, Any]


class FieldRow(TypedDict):
    fieldId: str
    datasetId: str
    name: str
    type: str | None
    description: str | None
    ordinal: int | None
    sortKey: str


class ColumnLineageRow(TypedDict):
    outFieldId: str
    inFieldId: str
    transformations: str


class VariantRef(TypedDict):
    """A scene variant named by a usdScene facet or an evaluation slice (_VARIANT_OF_REF)."""

    sceneId: str
    version: str | None
    contentHash: str | None
    selections: str
    name: str
    placeholderId: str


class SceneLinkRow(VariantRef, Generic[TimeT]):
    datasetId: str
    sortKey: str
    since: TimeT


class AliasRow(TypedDict, Generic[TimeT]):
    aliasId: str
    datasetId: str
    namespace: str
    name: str
    type: str | None
    since: TimeT


class TensorRow(TypedDict):
    name: str
    digest: str


class ModelRow(TypedDict):
    nodeId: str
    name: str
    version: str
    sortKey: str
    digest: str | None
    framework: str | None
    format: str | None
    derivedFrom: list[str]
    tensors: list[TensorRow] | None


class ModelLinkRow(TypedDict):
    modelId: str
    datasetId: str
    runId: str
    since: str


class SchemaVersionRef(TypedDict):
    nodeId: str
    name: str
    version: int


class SchemaLinkRow(TypedDict, Generic[TimeT]):
    datasetId: str
    sortKey: str
    since: TimeT
    versions: list[SchemaVersionRef]


class MetricRow(TypedDict):
    metricId: str
    name: str
    value: float
    higherIsBetter: bool | None
    sliceKey: str
    dimensions: str
    sceneVariant: VariantRef | None


class EvaluationRow(TypedDict, Generic[TimeT]):
    runId: str
    sortKey: str
    since: TimeT
    modelId: str
    modelName: str
    modelVersion: str
    datasetId: str | None
    metrics: list[MetricRow]


class VersionedDatasetRow(TypedDict):
    """A dataset a batch wrote versions of: which readers must re-resolve their version."""

    datasetId: str
    versionIds: list[str]
    since: str | None


class PlanRows(TypedDict):
    """Every row list of a write plan, by the parameter name its statement UNWINDs."""

    namespaces: list[NamespaceRow]
    jobs: list[NamedNodeRow]
    datasets: list[NamedNodeRow]
    runs: list[RunRow[str]]
    runJobs: list[RunJobRow]
    parents: list[ParentRow]
    jobReads: list[JobEdgeRow]
    jobWrites: list[JobEdgeRow]
    versions: list[VersionRow[str]]
    runReads: list[RunReadRow]
    runWrites: list[RunWriteRow]
    facets: list[FacetRow[str]]
    fields: list[FieldRow]
    columnLineage: list[ColumnLineageRow]
    sceneLinks: list[SceneLinkRow[str]]
    aliases: list[AliasRow[str]]
    models: list[ModelRow]
    modelLinks: list[ModelLinkRow]
    schemaLinks: list[SchemaLinkRow[str]]
    evaluations: list[EvaluationRow[str]]
    touchedRunIds: list[str]
    versionedDatasets: list[VersionedDatasetRow]
    # Not applied by the plan's statements: the ledger numbers and chains them first.
    events: NotRequired[list[RecordRow[str]]]


# The row lists APPLY_PLAN takes (events travel apart, chained).
PLAN_KEYS: tuple[str, ...] = tuple(k for k in PlanRows.__annotations__ if k != "events")
