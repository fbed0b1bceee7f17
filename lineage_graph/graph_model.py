"""The graph model, declared with neomodel: every node label, its properties and its keys.

This is the contract that ``schema/constraints.cypher`` and ``docs/graph-model.md`` are checked
against (tests/test_contract.py). Writes do not go through these classes: bulk ingestion uses
batched ``UNWIND`` Cypher (lineage_graph.db), which neomodel's per-node saves cannot match.
"""

from __future__ import annotations

from neomodel import (
    ArrayProperty,
    BooleanProperty,
    DateTimeProperty,
    FloatProperty,
    IntegerProperty,
    StringProperty,
    StructuredNode,
)


class _Keyed(StructuredNode):
    __abstract_node__ = True

    @classmethod
    def unique_keys(cls) -> list[str]:
        return [name for name, prop in cls.defined_properties(aliases=False, rels=False).items()
                if getattr(prop, "unique_index", False)]


class Namespace(_Keyed):
    """key = the name, or for a name over 4 KB a prefix plus its sha256 (ids.bounded)."""

    key = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)


class Dataset(_Keyed):
    """Also labelled :LineageNode. nodeId = ``dataset:<namespace>:<name>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty(required=True)
    name = StringProperty(required=True)
    description = StringProperty()
    sourceName = StringProperty()
    sourceUri = StringProperty()
    owners = ArrayProperty(StringProperty())
    malformedFacets = ArrayProperty(StringProperty())
    sceneLinkKey = StringProperty()  # sort key of the usdScene facet that set the link
    labelingSchemaKey = StringProperty()  # sort key of the labelingSchema facet that won


class DatasetAlias(_Keyed):
    """Another name of a dataset (symlinks facet), ``ALIAS_OF`` it. aliasId has the form of a
    dataset id (``dataset:<namespace>:<name>``), so lookups by that id can fall back to it."""

    aliasId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty(required=True)
    name = StringProperty(required=True)
    type = StringProperty()


class Job(_Keyed):
    """Also labelled :LineageNode. nodeId = ``job:<namespace>:<name>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty(required=True)
    name = StringProperty(required=True)
    description = StringProperty()
    sql = StringProperty()
    jobType = StringProperty()
    processingType = StringProperty()
    integration = StringProperty()
    owners = ArrayProperty(StringProperty())
    malformedFacets = ArrayProperty(StringProperty())
    firstRunEventTime = DateTimeProperty()  # span of its runs' events, kept on write
    lastRunEventTime = DateTimeProperty()


class Run(_Keyed):
    """Also labelled :LineageNode. nodeId = runId."""

    runId = StringProperty(unique_index=True, required=True)
    nodeId = StringProperty(required=True)
    jobId = StringProperty()  # its job's nodeId, indexed with startedAt
    state = StringProperty(choices={s: s for s in
                                    ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL")})
    stateTime = DateTimeProperty()
    startedAt = DateTimeProperty()
    endedAt = DateTimeProperty()
    startEventTime = DateTimeProperty()
    firstEventTime = DateTimeProperty()
    lastEventTime = DateTimeProperty()
    nominalStartTime = DateTimeProperty()
    nominalEndTime = DateTimeProperty()
    errorMessage = StringProperty()
    processingEngine = StringProperty()
    processingEngineVersion = StringProperty()
    malformedFacets = ArrayProperty(StringProperty())
    codeDigest = StringProperty()  # digest of the code facets (sql, sourceCode...) it ran with
    codeKey = StringProperty()  # sort key of the event that set codeDigest
    evaluationKey = StringProperty()  # sort key of the evaluation facet that set its metrics


class DatasetVersion(_Keyed):
    nodeId = StringProperty(unique_index=True, required=True)
    datasetId = StringProperty(required=True)
    version = StringProperty(required=True)
    createdAt = DateTimeProperty()
    batchKey = StringProperty()  # labels batches: the addLabels batchKey, if any
    labelsDigest = StringProperty()  # labels batches: sha256 of the labels as given


class Field(_Keyed):
    fieldId = StringProperty(unique_index=True, required=True)
    datasetId = StringProperty(required=True)
    name = StringProperty(required=True)
    type = StringProperty()
    description = StringProperty()
    ordinal = IntegerProperty()


class Facet(_Keyed):
    facetId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    place = StringProperty()  # '' on its owner; 'input:<datasetId>' / 'output:<datasetId>' on a run
    payload = StringProperty(required=True)  # the facet's JSON, verbatim
    eventTime = DateTimeProperty()
    malformed = BooleanProperty()
    error = StringProperty()


class Event(_Keyed):
    seq = IntegerProperty(unique_index=True, required=True)
    sha256 = StringProperty(unique_index=True, required=True)
    raw = StringProperty(required=True)
    kind = StringProperty(required=True)
    eventType = StringProperty()
    eventTime = DateTimeProperty()
    runId = StringProperty()
    receivedAt = DateTimeProperty()  # when the platform received it (in the chain hash, v2)
    warnings = ArrayProperty(StringProperty())
    # "openlineage", "scene", "labeling", "apiKey" or "checkpoint" (absent before v2)
    recordType = StringProperty()
    keyId = StringProperty()  # the API key that sent it; absent: auth off, or the CLI
    subject = StringProperty()  # what an apiKey record is about: that key's id
    prevHash = StringProperty()  # the previous record's chainHash (64 zeros for the first)
    chainHash = StringProperty()  # see ledger/chain.py for both formulas
    chainVersion = IntegerProperty()  # 2; absent on records of the first formula


class Sequence(_Keyed):
    name = StringProperty(unique_index=True, required=True)
    value = IntegerProperty()
    head = StringProperty()  # chainHash of the last record
    lockedAt = IntegerProperty()  # epoch ms of the last locking write (also on LabelingSchema
    # and LabelingSession): serializes writers, not data


class Scene(_Keyed):
    sceneId = StringProperty(unique_index=True, required=True)


class PendingSceneVersion(_Keyed):
    """A new scene version while its prims are staged (lineage_graph.usd.store): becomes the
    SceneVersion in the transaction that records its document; no reader follows it."""

    nodeId = StringProperty(unique_index=True, required=True)
    token = StringProperty(required=True)  # which writer is staging it
    heartbeatAt = IntegerProperty()  # epoch ms of its writer's last write (the lease)
    staged = IntegerProperty()  # prims staged so far
    startedAt = DateTimeProperty()


class SceneVersion(_Keyed):
    """Also labelled :LineageNode (kind SCENE). nodeId derives from sceneId + contentHash."""

    nodeId = StringProperty(unique_index=True, required=True)
    sceneId = StringProperty(required=True)
    version = StringProperty(required=True)
    contentHash = StringProperty(required=True)
    rootLayer = StringProperty(required=True)
    rootPrim = StringProperty(required=True)
    missingAssets = ArrayProperty(StringProperty())
    defaultSelections = StringProperty()  # JSON map
    ingestedAt = DateTimeProperty()
    documentSha256 = StringProperty()  # the recorded scene document it was projected from


class SceneVariant(_Keyed):
    """Also labelled :LineageNode (kind SCENE_VARIANT). nodeId derives from sceneId,
    contentHash and the full selection map."""

    nodeId = StringProperty(unique_index=True, required=True)
    sceneId = StringProperty(required=True)
    version = StringProperty()
    contentHash = StringProperty()
    selections = StringProperty(required=True)  # JSON map {set: option}
    primCount = IntegerProperty()
    placeholder = BooleanProperty()


class Layer(_Keyed):
    sha256 = StringProperty(unique_index=True, required=True)


class CompositionArc(_Keyed):
    arcId = StringProperty(unique_index=True, required=True)
    kind = StringProperty(required=True)  # SUBLAYER | REFERENCE | PAYLOAD
    layer = StringProperty(required=True)
    target = StringProperty(required=True)
    resolved = StringProperty()
    prim = StringProperty()


class Prim(_Keyed):
    primId = StringProperty(unique_index=True, required=True)
    path = StringProperty(required=True)
    type = StringProperty()
    kind = StringProperty()
    instanceable = BooleanProperty()
    instanceProxy = BooleanProperty()


class VariantSet(_Keyed):
    variantSetId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    default = StringProperty()
    existsUnder = StringProperty()  # JSON map; {} for a set of the root prim


class VariantOption(_Keyed):
    optionId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    variantSet = StringProperty(required=True)


class LabelingSchema(_Keyed):
    """Bounded name: schema names are at most 200 characters."""

    name = StringProperty(unique_index=True, required=True)


class LabelingSchemaVersion(_Keyed):
    """Also labelled :LineageNode. Immutable; nodeId = ``labelingSchema:<name>:v<version>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    version = IntegerProperty(required=True)
    # Absent on a placeholder (placeholder = true): a version a labelingSchema facet named
    # before createLabelingSchema made it.
    definition = StringProperty()  # canonical JSON
    definitionHash = StringProperty()
    placeholder = BooleanProperty()
    changes = ArrayProperty(StringProperty())
    type = StringProperty()
    title = StringProperty()
    instruction = StringProperty()
    inputKind = StringProperty()
    enableComment = BooleanProperty()
    createdAt = DateTimeProperty()
    recorded = BooleanProperty()  # written from a record (labeling/commands.py)


class LabelingSession(_Keyed):
    """Also labelled :LineageNode (kind LABELING_SESSION). nodeId = ``labelingSession:<name>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    assignedUsers = ArrayProperty(StringProperty())
    batches = IntegerProperty()
    activeSchemaVersionIds = ArrayProperty(StringProperty())  # what new labels are checked by
    createdAt = DateTimeProperty()
    recorded = BooleanProperty()  # written from a record (labeling/commands.py)


class Label(_Keyed):
    labelId = StringProperty(unique_index=True, required=True)
    itemId = StringProperty(required=True)
    value = StringProperty(required=True)  # JSON
    source = StringProperty(choices={s: s for s in ("HUMAN", "LLM_JUDGE", "CODE")})
    author = StringProperty(required=True)
    comment = StringProperty()
    time = DateTimeProperty()
    recorded = BooleanProperty()  # written from a record (labeling/commands.py)


class ModelVersion(_Keyed):
    """Also labelled :LineageNode (kind MODEL_VERSION). nodeId = ``model:<name>@<version>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    version = StringProperty(required=True)
    digest = StringProperty()  # absent while only an evaluation facet has named the version
    framework = StringProperty()
    format = StringProperty()
    derivedFrom = ArrayProperty(StringProperty())  # digests of base models
    tensorCount = IntegerProperty()
    placeholder = BooleanProperty()  # true while only an evaluation facet has named it
    modelKey = StringProperty()  # sort key of the mlModel facet that set these properties


class Tensor(_Keyed):
    """One tensor's content (dtype, shape, bytes), shared by every model version holding it:
    ``(:ModelVersion)-[:HAS_TENSOR {name}]->(:Tensor)``."""

    digest = StringProperty(unique_index=True, required=True)


class Metric(_Keyed):
    """One value an evaluation run measured for a model version, overall or on one slice."""

    metricId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    value = FloatProperty(required=True)
    higherIsBetter = BooleanProperty()
    dimensions = StringProperty()  # canonical JSON of the slice's dimensions
    sliceKey = StringProperty(required=True)  # canonical JSON of the whole slice
    runId = StringProperty(required=True)
    modelId = StringProperty(required=True)


class LedgerCheckpoint(_Keyed):
    """A signed ledger head (lineage_graph.ledger.checkpoints); the copy that matters is the one
    kept outside the database."""

    seq = IntegerProperty(required=True)
    head = StringProperty(required=True)
    at = DateTimeProperty()
    signature = StringProperty()


class ApiKey(_Keyed):
    """An API key: only the sha256 of its secret is stored (lineage_graph.auth.keys)."""

    keyId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    scopes = ArrayProperty(StringProperty(), required=True)
    secretHash = StringProperty(required=True)
    createdAt = DateTimeProperty()
    revokedAt = DateTimeProperty()


GRAPH_NODE_MODELS: list[type[_Keyed]] = [
    Namespace, Dataset, DatasetAlias, Job, Run, DatasetVersion, Field, Facet, Event, Sequence,
    Scene, PendingSceneVersion, SceneVersion, SceneVariant, Layer, CompositionArc, Prim,
    VariantSet, VariantOption,
    LabelingSchema, LabelingSchemaVersion, LabelingSession, Label, ModelVersion, Tensor, Metric,
    ApiKey, LedgerCheckpoint,
]

RELATIONSHIP_TYPES: list[str] = [
    "HAS_JOB", "HAS_DATASET", "HAS_RUN", "CHILD_OF", "READS", "WRITES", "READ", "WROTE",
    "READ_VERSION", "WROTE_VERSION", "VERSION_OF", "HAS_FACET", "HAS_FIELD", "DERIVED_FROM",
    "HAS_VERSION", "USES_LAYER", "HAS_ARC", "HAS_PRIM", "HAS_VARIANT_SET", "HAS_OPTION",
    "HAS_VARIANT", "SELECTS", "ADDS_PRIM", "REMOVES_PRIM", "FROM_SCENE_VARIANT",
    "PREVIOUS_VERSION", "LABELS", "PRODUCES", "USES_SCHEMA", "HAS_LABEL", "IN_VERSION",
    "LABELED_WITH", "PRODUCED_VERSION", "TRAINED", "STORED_IN", "DERIVED_FROM_MODEL",
    "HAS_TENSOR", "EVALUATED", "EVALUATED_ON", "MEASURED", "HAS_METRIC", "FOR_SCENE_VARIANT",
    "ALIAS_OF",
]
