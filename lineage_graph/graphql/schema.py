"""The GraphQL schema: queries over datasets, jobs, runs and lineage."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from lineage_graph.auth.requests import require_scope
from lineage_graph.graphql.context import ListLimit, off_loop, receipt, services
from lineage_graph.graphql.errors import DomainErrors
from lineage_graph.graphql.execution import LeafFieldsExecutionContext
from lineage_graph.graphql.forensic_types import (
    LedgerReport,
    LedgerStatus,
    LineageDiff,
    RegressionReport,
    SceneVariantDiff,
)
from lineage_graph.graphql.labeling_types import (
    AddLabelsResult,
    Label,
    LabelingSchemaInput,
    LabelingSchemaVersion,
    LabelingSession,
    LabelingSessionInput,
    LabelInput,
    SchemaRefInput,
)
from lineage_graph.graphql.model_types import ModelOriginCandidate, ModelVersion
from lineage_graph.graphql.scene_types import Scene, SceneVariant
from lineage_graph.graphql.types import (
    Dataset,
    EdgeKind,
    Job,
    LineageDirection,
    LineageEdge,
    LineageGraph,
    LineageLevel,
    LineageNode,
    NodeKind,
    Run,
)
from lineage_graph.labeling.labels import LabelInput as DomainLabel
from lineage_graph.labeling.schemas import parse_definition
from lineage_graph.lineage.service import Direction, Level
from lineage_graph.settings import Settings


@strawberry.type
class Query:
    @strawberry.field(description="A dataset by its OpenLineage namespace and name.")
    async def dataset(self, info: strawberry.Info, namespace: str, name: str) -> Dataset | None:
        row = await off_loop(services(info).lineage.dataset, namespace, name)
        return Dataset.from_row(row) if row else None

    @strawberry.field(description="A job by its OpenLineage namespace and name.")
    async def job(self, info: strawberry.Info, namespace: str, name: str) -> Job | None:
        row = await off_loop(services(info).lineage.job, namespace, name)
        return Job.from_row(row) if row else None

    @strawberry.field(description="A run by its OpenLineage runId.")
    async def run(self, info: strawberry.Info, id: strawberry.ID) -> Run | None:
        row = await off_loop(services(info).lineage.run, str(id))
        return Run.from_row(row) if row else None

    @strawberry.field(description="Any lineage node by its opaque id.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> LineageNode | None:
        row = await off_loop(services(info).lineage.node, str(id))
        return LineageNode.from_row(row) if row else None

    @strawberry.field(
        description="Lineage around a node, `depth` hops in data-flow terms, at a `level` "
        "(docs/forensics.md#levels): JOB (jobs and datasets), RUN (runs and datasets) or "
        "VERSION (runs, dataset versions, model versions: what each run actually read). "
        "Without a level: JOB from a dataset or job, RUN from a run. `asOf` (JOB and RUN): "
        "only what was known at that time (docs/forensics.md#lineage-as-of). Paged: `first` "
        "nodes (default 1000), then `after: nextCursor` while `truncated`."
    )
    async def lineage(
        self,
        info: strawberry.Info,
        node_id: strawberry.ID,
        direction: LineageDirection = LineageDirection.BOTH,
        depth: int = 5,
        as_of: datetime | None = None,
        level: LineageLevel | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> LineageGraph:
        return await _lineage_graph(info, str(node_id), Direction(direction.value), depth, as_of,
                                    None if level is None else Level(level.value), first, after)

    @strawberry.field(description="Everything downstream of a node, up to `depth` hops. At "
                                  "level VERSION (the default) only what actually read it: the "
                                  "runs that read its versions, what they wrote, the model "
                                  "versions they trained and their evaluations. JOB: every "
                                  "job fed by it (an overclaim for forensics, kept as an "
                                  "option). Paged like `lineage`.")
    async def impact(self, info: strawberry.Info, node_id: strawberry.ID, depth: int = 10,
                     level: LineageLevel = LineageLevel.VERSION, first: int | None = None,
                     after: str | None = None) -> LineageGraph:
        return await _lineage_graph(info, str(node_id), Direction.DOWNSTREAM, depth, None,
                                    Level(level.value), first, after)

    @strawberry.field(description="What is upstream of model `version` and not of `baseline`, "
                                  "ranked by evidence (docs/forensics.md#ranking).")
    async def regression_suspects(self, info: strawberry.Info, model: str, version: str,
                                  baseline: str, metric: str, limit: int = 10,
                                  tolerance: float = 0.0) -> RegressionReport:
        report = await off_loop(services(info).regression.regression_suspects, model, version,
                                baseline, metric, limit, tolerance)
        return RegressionReport.from_result(report)

    @strawberry.field(description="Version-accurate upstream closures of two nodes compared; "
                                  "a node is any lineage node or a dataset version.")
    async def lineage_diff(self, info: strawberry.Info, a: strawberry.ID,
                           b: strawberry.ID) -> LineageDiff:
        return LineageDiff.from_result(await off_loop(services(info).diffs.lineage_diff,
                                                      str(a), str(b)))

    @strawberry.field(description="Two scene variants compared: selection changes and the prims "
                                  "each composes that the other does not.")
    async def scene_variant_diff(self, info: strawberry.Info, a: strawberry.ID,
                                 b: strawberry.ID) -> SceneVariantDiff:
        return SceneVariantDiff.from_result(await off_loop(
            services(info).diffs.scene_variant_diff, str(a), str(b)))

    @strawberry.field(description="Recompute the event record's hash chain up to its head; "
                                  "reports the first record modified, deleted, inserted or "
                                  "reordered. Needs the admin scope; concurrent calls share one "
                                  "verification.")
    async def verify_ledger(self, info: strawberry.Info) -> LedgerReport:
        require_scope(info.context.get("request"), "admin")
        report = await services(info).ledger.verify()
        return LedgerReport(ok=report.ok, checked=report.checked,
                            first_bad_sequence=report.first_bad_sequence, reason=report.reason)

    @strawberry.field(description="How many records the event record holds and this process's "
                                  "last verification of it, without running one.")
    async def ledger_status(self, info: strawberry.Info) -> LedgerStatus:
        ledger = services(info).ledger
        records = await off_loop(ledger.records)
        if ledger.last is None:
            return LedgerStatus(records=records, last_verified_at=None, last_verification=None)
        at, report = ledger.last
        return LedgerStatus(records=records, last_verified_at=at, last_verification=LedgerReport(
            ok=report.ok, checked=report.checked, first_bad_sequence=report.first_bad_sequence,
            reason=report.reason))

    @strawberry.field(description="A USD scene version: the one with this content hash (exact), "
                                  "else the latest ingested with this version string, else "
                                  "the latest ingested.")
    async def scene(self, info: strawberry.Info, scene_id: str, version: str | None = None,
                    content_hash: str | None = None) -> Scene | None:
        row = await off_loop(services(info).scenes.scene_version, scene_id, version,
                             content_hash)
        return Scene.from_row(row) if row else None

    @strawberry.field(description="A scene variant by its id.")
    async def scene_variant(self, info: strawberry.Info, id: strawberry.ID) -> SceneVariant | None:
        row = await off_loop(services(info).scenes.scene_variant, str(id))
        return SceneVariant.from_row(row) if row else None

    @strawberry.field(description="A labeling schema: the given version, else the latest.")
    async def labeling_schema(self, info: strawberry.Info, name: str,
                              version: int | None = None) -> LabelingSchemaVersion | None:
        row = await off_loop(services(info).labeling.get, name, version)
        return LabelingSchemaVersion.from_row(row) if row else None

    @strawberry.field(description="A model version by name and version.")
    async def model_version(self, info: strawberry.Info, name: str,
                            version: str) -> ModelVersion | None:
        row = await off_loop(services(info).models.model_version, name, version)
        return ModelVersion.from_row(row) if row else None

    @strawberry.field(description="Model versions, by name and version.")
    async def models(self, info: strawberry.Info, limit: int = 50) -> list[ModelVersion]:
        found = await off_loop(services(info).models.models, limit)
        return [ModelVersion.from_row(r) for r in found]

    @strawberry.field(description="Known model versions ranked as the origin of the model with "
                                  "this digest, by shared tensors (see "
                                  "docs/labeling-and-models.md). Unknown digest: NOT_FOUND.")
    async def model_origin(self, info: strawberry.Info, digest: str,
                           limit: int = 10) -> list[ModelOriginCandidate]:
        found = await off_loop(services(info).models.origin, digest, limit)
        return [ModelOriginCandidate.from_row(rank, r) for rank, r in enumerate(found, start=1)]

    @strawberry.field(description="A labeling session by id.")
    async def labeling_session(self, info: strawberry.Info,
                               id: strawberry.ID) -> LabelingSession | None:
        row = await off_loop(services(info).sessions.session, str(id))
        return LabelingSession.from_row(row) if row else None

    @strawberry.field(description="Every label given to one item, in any session, in the order "
                                  "they were given; page with `after` (a label's cursor).")
    async def labels(self, info: strawberry.Info, item_id: str, schema: str | None = None,
                     after: str | None = None, limit: ListLimit = None) -> list[Label]:
        found = await off_loop(services(info).labels.of_item, item_id, schema=schema,
                               after=after, limit=limit)
        return [Label.from_row(r) for r in found]

    @strawberry.field(description="Nodes whose name or namespace matches the query.")
    async def search(
        self,
        info: strawberry.Info,
        query: str,
        kinds: list[NodeKind] | None = None,
        limit: int = 20,
    ) -> list[LineageNode]:
        wanted = [k.value for k in kinds or []]
        found = await off_loop(services(info).lineage.search, query, wanted, limit)
        return [LineageNode.from_row(n) for n in found]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a labeling schema version. The same definition "
                         "again returns the same version; a changed one becomes version n+1.")
    async def create_labeling_schema(self, info: strawberry.Info,
                                     input: LabelingSchemaInput) -> LabelingSchemaVersion:
        require_scope(info.context.get("request"), "ingest")
        definition = parse_definition(input.as_definition())
        row = await off_loop(services(info).labeling.create, definition, receipt(info))
        return LabelingSchemaVersion.from_row(row)

    @strawberry.mutation(description="Open a labeling session over a dataset with the given "
                         "schema versions (latest when a version is omitted). The name "
                         "identifies the session: the same input again returns it.")
    async def create_labeling_session(self, info: strawberry.Info,
                                      input: LabelingSessionInput) -> LabelingSession:
        require_scope(info.context.get("request"), "ingest")
        row = await off_loop(
            services(info).sessions.create_session, input.name,
            [(s.name, s.version) for s in input.schemas],
            (input.dataset.namespace, input.dataset.name), input.assigned_users, receipt(info),
        )
        return LabelingSession.from_row(row)

    @strawberry.mutation(description="Check new labels against other schema versions from now "
                         "on (e.g. a schema's new version midway); earlier batches keep theirs.")
    async def update_labeling_session(self, info: strawberry.Info, session_id: strawberry.ID,
                                      schemas: list[SchemaRefInput]) -> LabelingSession:
        require_scope(info.context.get("request"), "ingest")
        row = await off_loop(services(info).sessions.update_schemas, str(session_id),
                             [(s.name, s.version) for s in schemas], receipt(info))
        return LabelingSession.from_row(row)

    @strawberry.mutation(description="Add labels; every value is checked against its schema "
                         "version and the whole call is refused on the first violation. "
                         "`batchKey` makes the call idempotent.")
    async def add_labels(self, info: strawberry.Info, session_id: strawberry.ID,
                         labels: list[LabelInput],
                         batch_key: str | None = None) -> AddLabelsResult:
        require_scope(info.context.get("request"), "ingest")
        given = [DomainLabel(item_id=lb.item_id, schema=lb.schema, value=lb.value,
                             source=lb.source.value, author=lb.author, comment=lb.comment,
                             time=lb.time) for lb in labels]
        row = await off_loop(services(info).sessions.add_labels, str(session_id), given,
                             batch_key, receipt(info))
        return AddLabelsResult(added=row["added"], dataset_version=row["version"],
                               dataset_version_id=strawberry.ID(row["versionId"]),
                               replayed=row["existing"])


# Parsed and validated documents kept per query text (dashboards send the same few queries
# again and again): parsing and validating a lineage query took about 2 of its 17 ms. Bounded:
# a document is at most LINEAGE_GRAPH_GRAPHQL_MAX_BYTES, so the caches hold at most this many.
DOCUMENT_CACHE_SIZE = 64


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with the request limits of ``settings``: query depth, aliases and size
    (tokens) are refused with a clear error before anything runs."""
    # The limiters' validation rules are built once: the validation cache is keyed by the
    # rules too, and a limiter built per request would make a new rule class every time.
    rules = [*QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules]
    return strawberry.Schema(query=Query, mutation=Mutation,
                             execution_context_class=LeafFieldsExecutionContext, extensions=[
        DomainErrors,
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
    ])


schema = build_schema(Settings())  # the contract (api/schema.graphql); limits do not change it


async def _lineage_graph(info: strawberry.Info, node_id: str, direction: Direction, depth: int,
                         as_of: datetime | None, level: Level | None, first: int | None,
                         after: str | None) -> LineageGraph:
    found = await off_loop(services(info).lineage.lineage, node_id, direction, depth, as_of,
                           level, first, after)
    nodes = [LineageNode.from_row(n) for n in found.nodes.values()]
    edges = [LineageEdge(source=strawberry.ID(s), target=strawberry.ID(t), kind=EdgeKind(k))
             for s, t, k in sorted(found.edges)]
    return LineageGraph(nodes=nodes, edges=edges, truncated=found.truncated,
                        next_cursor=found.next_cursor)
