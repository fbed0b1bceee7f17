"""The graph model, declared with neomodel: every node label, its properties, keys and
indexes, and every relationship type with its direction and properties. The one source of
truth: ``schema/constraints.cypher`` and the reference at the end of ``docs/graph-model.md`` are
generated from it (lineage_graph.graph_schema, by ``lineage-graph api export``), and
tests/test_graph_contract.py fails when the database holds a label, property or relationship
this module does not declare. Writes do not go through these classes: bulk ingestion uses
batched ``UNWIND`` Cypher (lineage_graph.db), which neomodel's per-node saves cannot match.
"""

from __future__ import annotations

from dataclasses import dataclass

from neomodel import (
    ArrayProperty,
    BooleanProperty,
    DateTimeProperty,
    FloatProperty,
    IntegerProperty,
    RelationshipTo,
    StringProperty,
    StructuredNode,
    StructuredRel,
)
from neomodel.properties import Property
from neomodel.sync_.relationship_manager import RelationshipDefinition

# -- relationship properties -------------------------------------------------------------------


class Since(StructuredRel):
    """``since``: the earliest eventTime that showed the relationship (lineage asOf)."""

    since = DateTimeProperty()


class SeenBetween(StructuredRel):
    """A job-level edge: ``since`` as above and ``until``, the latest eventTime that showed it
    (Marquez's lineage starts from the job that last wrote a dataset)."""

    since = DateTimeProperty()
    until = DateTimeProperty()


class RunRead(StructuredRel):
    since = DateTimeProperty()
    pinnedVersion = StringProperty()  # the version a `version` input facet named
    pinnedVersionId = StringProperty()  # that version's DatasetVersion nodeId
    # Copies kept in step with the ends (STAMP_RUN_READS): indexed together
    # (extra-indexes.cypher), they find a dataset's readers that started since a time without
    # reading every run started since then (a new version of a hub dated in its past).
    datasetId = StringProperty()  # the dataset's nodeId
    startedAt = DateTimeProperty()  # the reading run's startedAt


class FieldDerivation(StructuredRel):
    transformations = StringProperty()  # JSON of the columnLineage facet's transformations


class LayerUse(StructuredRel):
    path = StringProperty()  # where the scene found the layer file


class PrimMembership(StructuredRel):
    inDefault = BooleanProperty()  # in the scene's default composition


class TensorSlot(StructuredRel):
    name = StringProperty()  # the tensor's name in that model version


# -- nodes ----------------------------------------------------------------------------------------


class _Keyed(StructuredNode):
    __abstract_node__ = True

    @classmethod
    def unique_keys(cls) -> list[str]:
        """The properties this class itself declares unique (inherited ones are its base's)."""
        return [name for name, prop in vars(cls).items()
                if isinstance(prop, Property) and prop.unique_index]

    @classmethod
    def indexed(cls) -> list[str]:
        """The properties this class itself declares indexed (a range index each)."""
        return [name for name, prop in vars(cls).items()
                if isinstance(prop, Property) and prop.index]


class LineageNode(_Keyed):
    """Every node a lineage query can return also carries this label and a stable, opaque
    ``nodeId`` (unique across all of them)."""

    nodeId = StringProperty(unique_index=True, required=True)


class Namespace(_Keyed):
    """key = the name, or for a name over 4 KB a prefix plus its sha256 (ids.bounded)."""

    key = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    jobs = RelationshipTo("Job", "HAS_JOB")
    datasets = RelationshipTo("Dataset", "HAS_DATASET")


class Dataset(LineageNode):
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
    fields = RelationshipTo("Field", "HAS_FIELD")
    facets = RelationshipTo("Facet", "HAS_FACET")
    scene_variant = RelationshipTo("SceneVariant", "FROM_SCENE_VARIANT", model=Since)
    labeling_schema_versions = RelationshipTo("LabelingSchemaVersion", "LABELED_WITH", model=Since)


class DatasetAlias(_Keyed):
    """Another name of a dataset (symlinks facet), ``ALIAS_OF`` it. aliasId has the form of a
    dataset id (``dataset:<namespace>:<name>``), so lookups by that id can fall back to it."""

    aliasId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty(required=True)
    name = StringProperty(required=True)
    type = StringProperty()
    dataset = RelationshipTo("Dataset", "ALIAS_OF", model=Since)


class Job(LineageNode):
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
    runs = RelationshipTo("Run", "HAS_RUN")
    reads = RelationshipTo("Dataset", "READS", model=SeenBetween)
    writes = RelationshipTo("Dataset", "WRITES", model=SeenBetween)
    facets = RelationshipTo("Facet", "HAS_FACET")


class Run(LineageNode):
    """Also labelled :LineageNode. nodeId = runId."""

    runId = StringProperty(unique_index=True, required=True)
    jobId = StringProperty()  # its job's nodeId, indexed with startedAt
    state = StringProperty(index=True, choices={s: s for s in
                                                ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL")})
    stateTime = DateTimeProperty()
    startedAt = DateTimeProperty(index=True)
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
    stateKey = StringProperty()  # sort key of the event that set state
    parent = RelationshipTo("Run", "CHILD_OF")
    inputs = RelationshipTo("Dataset", "READ", model=RunRead)
    outputs = RelationshipTo("Dataset", "WROTE", model=Since)
    input_versions = RelationshipTo("DatasetVersion", "READ_VERSION")
    output_versions = RelationshipTo("DatasetVersion", "WROTE_VERSION")
    facets = RelationshipTo("Facet", "HAS_FACET")
    trained = RelationshipTo("ModelVersion", "TRAINED")
    evaluated = RelationshipTo("ModelVersion", "EVALUATED", model=Since)
    evaluated_on = RelationshipTo("Dataset", "EVALUATED_ON")
    measured = RelationshipTo("Metric", "MEASURED")


class DatasetVersion(_Keyed):
    nodeId = StringProperty(unique_index=True, required=True)
    datasetId = StringProperty(required=True)
    version = StringProperty(required=True)
    createdAt = DateTimeProperty()
    batchKey = StringProperty()  # labels batches: the addLabels batchKey, if any
    labelsDigest = StringProperty()  # labels batches: sha256 of the labels as given
    dataset = RelationshipTo("Dataset", "VERSION_OF")
    labeling_schema_versions = RelationshipTo("LabelingSchemaVersion", "LABELED_WITH", model=Since)


class Field(_Keyed):
    fieldId = StringProperty(unique_index=True, required=True)
    datasetId = StringProperty(required=True)
    name = StringProperty(required=True)
    type = StringProperty()
    description = StringProperty()
    ordinal = IntegerProperty()
    sortKey = StringProperty()  # sort key of the schema facet that set type/description
    derived_from = RelationshipTo("Field", "DERIVED_FROM", model=FieldDerivation)


class Facet(_Keyed):
    facetId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    place = StringProperty()  # '' on its owner; 'input:<datasetId>' / 'output:<datasetId>' on a run
    payload = StringProperty(required=True)  # the facet's JSON, verbatim
    eventTime = DateTimeProperty()
    malformed = BooleanProperty()
    error = StringProperty()
    sortKey = StringProperty()  # (eventTime, payload) key: the latest facet wins in any order


class Event(_Keyed):
    seq = IntegerProperty(unique_index=True, required=True)
    sha256 = StringProperty(unique_index=True, required=True)
    raw = StringProperty()  # the record as received; null once retention pruned it
    prunedAt = DateTimeProperty()  # when retention removed ``raw`` (a retention record's time)
    kind = StringProperty(required=True)
    eventType = StringProperty()
    eventTime = DateTimeProperty(index=True)
    runId = StringProperty(index=True)
    # When the platform received it (in the chain hash, v2); indexed: records per day.
    receivedAt = DateTimeProperty(index=True)
    warnings = ArrayProperty(StringProperty())
    # "openlineage", "scene", "labeling", "apiKey", "checkpoint" or "retention" (absent
    # before v2)
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
    versions = RelationshipTo("SceneVersion", "HAS_VERSION")


class PendingSceneVersion(_Keyed):
    """A new scene version while its prims are staged (lineage_graph.usd.store): becomes the
    SceneVersion in the transaction that records its document; no reader follows it."""

    nodeId = StringProperty(unique_index=True, required=True)
    token = StringProperty(required=True)  # which writer is staging it
    heartbeatAt = IntegerProperty()  # epoch ms of its writer's last write (the lease)
    staged = IntegerProperty()  # prims staged so far
    startedAt = DateTimeProperty()
    prims = RelationshipTo("Prim", "HAS_PRIM", model=PrimMembership)


class SceneVersion(LineageNode):
    """Also labelled :LineageNode (kind SCENE). nodeId derives from sceneId + contentHash."""

    nodeId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty()  # 'usd': what search and lineage answers show
    name = StringProperty()  # the scene id, for search
    sceneId = StringProperty(required=True)
    version = StringProperty(required=True)
    contentHash = StringProperty(required=True)
    rootLayer = StringProperty(required=True)
    rootPrim = StringProperty(required=True)
    missingAssets = ArrayProperty(StringProperty())
    defaultSelections = StringProperty()  # JSON map
    ingestedAt = DateTimeProperty()
    documentSha256 = StringProperty()  # the recorded scene document it was projected from
    primDetail = StringProperty()  # 'full' (prims stored) or 'summary' (counted); null: full
    primCount = IntegerProperty()  # prims of the default composition
    primTypeCounts = StringProperty()  # JSON map {prim type: count}, default composition
    layers = RelationshipTo("Layer", "USES_LAYER", model=LayerUse)
    arcs = RelationshipTo("CompositionArc", "HAS_ARC")
    prims = RelationshipTo("Prim", "HAS_PRIM", model=PrimMembership)
    variant_sets = RelationshipTo("VariantSet", "HAS_VARIANT_SET")
    variants = RelationshipTo("SceneVariant", "HAS_VARIANT")


class SceneVariant(LineageNode):
    """Also labelled :LineageNode (kind SCENE_VARIANT). nodeId derives from sceneId,
    contentHash and the full selection map."""

    nodeId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty()  # 'usd': what search and lineage answers show
    name = StringProperty()  # scene id and selections, for search
    sceneId = StringProperty(required=True, index=True)
    version = StringProperty()
    contentHash = StringProperty()
    selections = StringProperty(required=True)  # JSON map {set: option}
    primCount = IntegerProperty()
    primDetail = StringProperty()  # as its scene version's
    primsAdded = IntegerProperty()  # prims its selections add to the default composition
    primsRemoved = IntegerProperty()  # and remove from it
    primTypeCounts = StringProperty()  # JSON map {prim type: count}
    placeholder = BooleanProperty()
    selects = RelationshipTo("VariantOption", "SELECTS")
    adds = RelationshipTo("Prim", "ADDS_PRIM")
    removes = RelationshipTo("Prim", "REMOVES_PRIM")


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
    options = RelationshipTo("VariantOption", "HAS_OPTION")


class VariantOption(_Keyed):
    optionId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True)
    variantSet = StringProperty(required=True)


class LabelingSchema(_Keyed):
    """Bounded name: schema names are at most 200 characters."""

    name = StringProperty(unique_index=True, required=True)
    createdAt = DateTimeProperty()
    lockedAt = IntegerProperty()  # epoch ms of the last locking write (as Sequence)
    versions = RelationshipTo("LabelingSchemaVersion", "HAS_VERSION")


class LabelingSchemaVersion(LineageNode):
    """Also labelled :LineageNode. Immutable; nodeId = ``labelingSchema:<name>:v<version>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty()  # 'labeling': what search and lineage answers show
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
    previous = RelationshipTo("LabelingSchemaVersion", "PREVIOUS_VERSION")


class LabelingSession(LineageNode):
    """Also labelled :LineageNode (kind LABELING_SESSION). nodeId = ``labelingSession:<name>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty()  # 'labeling': what search and lineage answers show
    lockedAt = IntegerProperty()  # epoch ms of the last locking write (as Sequence)
    name = StringProperty(required=True)
    assignedUsers = ArrayProperty(StringProperty())
    batches = IntegerProperty()
    activeSchemaVersionIds = ArrayProperty(StringProperty())  # what new labels are checked by
    createdAt = DateTimeProperty()
    recorded = BooleanProperty()  # written from a record (labeling/commands.py)
    schema_versions = RelationshipTo("LabelingSchemaVersion", "USES_SCHEMA")
    labels_dataset = RelationshipTo("Dataset", "LABELS")
    produces = RelationshipTo("Dataset", "PRODUCES")
    produced_versions = RelationshipTo("DatasetVersion", "PRODUCED_VERSION")
    session_labels = RelationshipTo("Label", "HAS_LABEL")


class Label(_Keyed):
    labelId = StringProperty(unique_index=True, required=True)
    itemId = StringProperty(required=True, index=True)
    value = StringProperty(required=True)  # JSON
    source = StringProperty(choices={s: s for s in ("HUMAN", "LLM_JUDGE", "CODE")})
    author = StringProperty(required=True)
    comment = StringProperty()
    time = DateTimeProperty()
    recorded = BooleanProperty()  # written from a record (labeling/commands.py)
    schema_version = RelationshipTo("LabelingSchemaVersion", "USES_SCHEMA")
    dataset_version = RelationshipTo("DatasetVersion", "IN_VERSION")


class ModelVersion(LineageNode):
    """Also labelled :LineageNode (kind MODEL_VERSION). nodeId = ``model:<name>@<version>``."""

    nodeId = StringProperty(unique_index=True, required=True)
    namespace = StringProperty()  # 'models': what search and lineage answers show
    name = StringProperty(required=True)
    version = StringProperty(required=True)
    # absent while only an evaluation facet has named the version
    digest = StringProperty(index=True)
    framework = StringProperty()
    format = StringProperty()
    derivedFrom = ArrayProperty(StringProperty())  # digests of base models
    tensorCount = IntegerProperty()
    placeholder = BooleanProperty()  # true while only an evaluation facet has named it
    modelKey = StringProperty()  # sort key of the mlModel facet that set these properties
    stored_in = RelationshipTo("Dataset", "STORED_IN", model=Since)
    derived_from_model = RelationshipTo("ModelVersion", "DERIVED_FROM_MODEL")
    tensors = RelationshipTo("Tensor", "HAS_TENSOR", model=TensorSlot)
    metrics = RelationshipTo("Metric", "HAS_METRIC")


class Tensor(_Keyed):
    """One tensor's content (dtype, shape, bytes), shared by every model version holding it:
    ``(:ModelVersion)-[:HAS_TENSOR {name}]->(:Tensor)``."""

    digest = StringProperty(unique_index=True, required=True)


class Metric(_Keyed):
    """One value an evaluation run measured for a model version, overall or on one slice."""

    metricId = StringProperty(unique_index=True, required=True)
    name = StringProperty(required=True, index=True)
    value = FloatProperty(required=True)
    higherIsBetter = BooleanProperty()
    dimensions = StringProperty()  # canonical JSON of the slice's dimensions
    sliceKey = StringProperty(required=True)  # canonical JSON of the whole slice
    runId = StringProperty(required=True)
    modelId = StringProperty(required=True)
    scene_variant = RelationshipTo("SceneVariant", "FOR_SCENE_VARIANT")


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


# What each node a lineage answer can hold is, by label, in the order the GraphQL enum NodeKind
# lists them: the one table the Cypher that names kinds (db.kinds) and NodeKind are made from.
NODE_KINDS: tuple[tuple[str, str], ...] = (
    ("Dataset", "DATASET"), ("Job", "JOB"), ("Run", "RUN"), ("SceneVersion", "SCENE"),
    ("SceneVariant", "SCENE_VARIANT"), ("LabelingSession", "LABELING_SESSION"),
    ("LabelingSchemaVersion", "LABELING_SCHEMA_VERSION"), ("ModelVersion", "MODEL_VERSION"),
    ("DatasetVersion", "DATASET_VERSION"),
)

NODE_MODELS: list[type[_Keyed]] = [
    LineageNode, Namespace, Dataset, DatasetAlias, Job, Run, DatasetVersion, Field, Facet, Event,
    Sequence, Scene, PendingSceneVersion, SceneVersion, SceneVariant, Layer, CompositionArc, Prim,
    VariantSet, VariantOption,
    LabelingSchema, LabelingSchemaVersion, LabelingSession, Label, ModelVersion, Tensor, Metric,
    ApiKey, LedgerCheckpoint,
]


@dataclass(frozen=True)
class RelationshipDeclaration:
    """One relationship a node class declares: (start)-[type]->(end) and its properties."""

    type: str
    start: str
    end: str
    properties: tuple[str, ...]


def labels_of(model: type[_Keyed]) -> frozenset[str]:
    """Every label a node of this class carries (its own and its bases', e.g. LineageNode)."""
    return frozenset(model.inherited_labels())


def properties_of(model: type[_Keyed]) -> list[str]:
    """Every property a node of this class may hold, inherited ones included."""
    return list(model.defined_properties(aliases=False, rels=False))


def relationship_declarations() -> list[RelationshipDeclaration]:
    found = []
    for model in NODE_MODELS:
        for rel in vars(model).values():
            if not isinstance(rel, RelationshipDefinition):
                continue
            props: type[StructuredRel] | None = rel.definition["model"]  # type: ignore[assignment]
            found.append(RelationshipDeclaration(
                type=str(rel.definition["relation_type"]), start=model.__label__,
                end=str(rel._raw_class),
                properties=tuple(props.defined_properties(aliases=False, rels=False))
                if props is not None else ()))
    return sorted(found, key=lambda d: (d.type, d.start, d.end))


RELATIONSHIP_TYPES: list[str] = sorted({d.type for d in relationship_declarations()})
