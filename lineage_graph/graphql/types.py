"""GraphQL object types. Each is built from a row of the data-access layer; nested fields are
resolved lazily through the services, with every list bounded by a ``limit``."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from lineage_graph.graph_model import NODE_KINDS
from lineage_graph.graphql.context import ListLimit, off_loop, services


def to_datetime(value: Any) -> datetime | None:
    """Neo4j DateTime -> Python datetime."""
    if value is None:
        return None
    to_native = getattr(value, "to_native", None)
    return to_native() if to_native else value  # type: ignore[no-any-return]


if TYPE_CHECKING:
    class NodeKind(Enum):
        """What a lineage node is: members made at run time from graph_model.NODE_KINDS."""
else:
    # Made from the one table of node kinds (graph_model.NODE_KINDS), in its order.
    NodeKind = strawberry.enum(Enum("NodeKind", [(kind, kind) for _, kind in NODE_KINDS]),
                               description="What a lineage node is.")


@strawberry.enum(description="What a lineage walk is made of (docs/forensics.md#levels).")
class LineageLevel(Enum):
    JOB = "JOB"
    RUN = "RUN"
    VERSION = "VERSION"


@strawberry.enum(description="Which way to walk lineage from a node.")
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.enum(description="INPUT: a dataset read by a job or run; OUTPUT: written by it.")
class EdgeKind(Enum):
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    VERSION = "VERSION"


@strawberry.type(description="Any node of the lineage graph, in summary.")
class LineageNode:
    id: strawberry.ID
    kind: NodeKind
    namespace: str | None
    name: str
    run_count: int | None = strawberry.field(
        default=None, description="A job's runs, summarised as their number (level JOB folds "
        "them into the job; level RUN lists them). Null for other kinds.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LineageNode:
        return cls(
            id=strawberry.ID(row["nodeId"]),
            kind=NodeKind(row["kind"]),
            namespace=row.get("namespace"),
            name=row.get("name") or row.get("runId") or "",
            run_count=row.get("runCount"),
        )


@strawberry.type(description="Data moves from source to target.")
class LineageEdge:
    source: strawberry.ID
    target: strawberry.ID
    kind: EdgeKind


@strawberry.type(description="A page of a lineage answer: `first` nodes in walk order "
                           "(breadth-first, each hop in a fixed order) and the edges that "
                           "touch them, whose other end is on this page or an earlier one.")
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = strawberry.field(
        description="True when more nodes lie within `depth`: ask for them with `after: "
                    "nextCursor`. Never cut silently."
    )
    next_cursor: str | None = strawberry.field(
        default=None, description="The cursor of the next page (with the same arguments), "
                                  "null on the last page.")


@strawberry.type(description="Another name of a dataset (symlinks facet).")
class DatasetAlias:
    namespace: str
    name: str
    type: str | None


@strawberry.type
class SchemaField:
    name: str
    type: str | None
    description: str | None


@strawberry.type
class ColumnLineageInput:
    namespace: str
    name: str
    field: str
    transformations: JSON | None


@strawberry.type(description="Where one output column's values come from.")
class ColumnLineage:
    field: str
    inputs: list[ColumnLineageInput]


def _facets_json(node_id: str, info: strawberry.Info) -> Any:
    return services(info).lineage.facets(node_id)


@strawberry.type(description="One version of a dataset: created by each run that writes it.")
class DatasetVersion:
    id: strawberry.ID
    version: str
    created_at: datetime | None
    producer_run_id: strawberry.Private[str | None]

    @strawberry.field(description="The run that wrote this version.")
    async def produced_by(self, info: strawberry.Info) -> Run | None:
        if self.producer_run_id is None:
            return None
        row = await off_loop(services(info).lineage.run, self.producer_run_id)
        return Run.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DatasetVersion:
        return cls(
            id=strawberry.ID(row["nodeId"]), version=row["version"],
            created_at=to_datetime(row.get("createdAt")), producer_run_id=row.get("runId"),
        )


@strawberry.type
class Dataset:
    id: strawberry.ID
    namespace: str
    name: str
    description: str | None
    source_name: str | None
    malformed_facets: list[str]

    @strawberry.field(description="Other names of this dataset (symlinks facet); each one "
                                  "also finds it in dataset(namespace, name) and search.")
    async def aliases(self, info: strawberry.Info) -> list[DatasetAlias]:
        found = await off_loop(services(info).lineage.aliases, str(self.id))
        return [DatasetAlias(**row) for row in found]

    @strawberry.field(description="Latest facet of each name (merged by eventTime).")
    async def facets(self, info: strawberry.Info) -> JSON:
        return await off_loop(_facets_json, str(self.id), info)

    @strawberry.field
    async def versions(self, info: strawberry.Info, limit: int = 20) -> list[DatasetVersion]:
        found = await off_loop(services(info).lineage.versions, str(self.id), limit)
        return [DatasetVersion.from_row(r) for r in found]

    @strawberry.field
    async def fields(self, info: strawberry.Info, limit: ListLimit = None) -> list[SchemaField]:
        found = await off_loop(services(info).lineage.fields, str(self.id), limit)
        return [SchemaField(name=r["name"], type=r["type"], description=r["description"])
                for r in found]

    @strawberry.field
    async def column_lineage(self, info: strawberry.Info,
                             limit: ListLimit = None) -> list[ColumnLineage]:
        found = await off_loop(services(info).lineage.column_lineage, str(self.id), limit)
        by_field: dict[str, list[ColumnLineageInput]] = {}
        for r in found:
            by_field.setdefault(r["field"], []).append(
                ColumnLineageInput(namespace=r["namespace"], name=r["name"],
                                   field=r["sourceField"],
                                   transformations=json.loads(r["transformations"] or "null"))
            )
        return [ColumnLineage(field=f, inputs=i) for f, i in by_field.items()]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Dataset:
        return cls(
            id=strawberry.ID(row["nodeId"]), namespace=row["namespace"], name=row["name"],
            description=row.get("description"), source_name=row.get("sourceName"),
            malformed_facets=list(row.get("malformedFacets") or []),
        )


@strawberry.type
class Job:
    id: strawberry.ID
    namespace: str
    name: str
    description: str | None
    sql: str | None
    job_type: str | None
    malformed_facets: list[str]

    @strawberry.field
    async def facets(self, info: strawberry.Info) -> JSON:
        return await off_loop(_facets_json, str(self.id), info)

    @strawberry.field(description="Most recent runs first.")
    async def runs(self, info: strawberry.Info, limit: int = 20) -> list[Run]:
        found = await off_loop(services(info).lineage.runs_of_job, str(self.id), limit)
        return [Run.from_row(r) for r in found]

    @strawberry.field
    async def latest_run(self, info: strawberry.Info) -> Run | None:
        found = await off_loop(services(info).lineage.runs_of_job, str(self.id), 1)
        return Run.from_row(found[0]) if found else None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(
            id=strawberry.ID(row["nodeId"]), namespace=row["namespace"], name=row["name"],
            description=row.get("description"), sql=row.get("sql"), job_type=row.get("jobType"),
            malformed_facets=list(row.get("malformedFacets") or []),
        )


@strawberry.type(description="A dataset a run read or wrote, with the version involved.")
class RunDataset:
    dataset: Dataset
    version: DatasetVersion | None


@strawberry.type
class Run:
    id: strawberry.ID = strawberry.field(description="The OpenLineage runId.")
    state: str | None
    started_at: datetime | None
    ended_at: datetime | None
    nominal_start_time: datetime | None
    nominal_end_time: datetime | None
    error_message: str | None
    malformed_facets: list[str]

    @strawberry.field
    async def facets(self, info: strawberry.Info) -> JSON:
        return await off_loop(_facets_json, str(self.id), info)

    @strawberry.field
    async def job(self, info: strawberry.Info) -> Job | None:
        row = await off_loop(services(info).lineage.job_of_run, str(self.id))
        return Job.from_row(row) if row else None

    @strawberry.field
    async def parent(self, info: strawberry.Info) -> Run | None:
        row = await off_loop(services(info).lineage.parent_of_run, str(self.id))
        return Run.from_row(row) if row else None

    @strawberry.field
    async def children(self, info: strawberry.Info, limit: int = 100) -> list[Run]:
        found = await off_loop(services(info).lineage.children_of_run, str(self.id), limit)
        return [Run.from_row(r) for r in found]

    @strawberry.field
    async def inputs(self, info: strawberry.Info, limit: ListLimit = None) -> list[RunDataset]:
        return await off_loop(_run_io, info, str(self.id), False, limit)

    @strawberry.field
    async def outputs(self, info: strawberry.Info, limit: ListLimit = None) -> list[RunDataset]:
        return await off_loop(_run_io, info, str(self.id), True, limit)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        return cls(
            id=strawberry.ID(row["runId"]), state=row.get("state"),
            started_at=to_datetime(row.get("startedAt")), ended_at=to_datetime(row.get("endedAt")),
            nominal_start_time=to_datetime(row.get("nominalStartTime")),
            nominal_end_time=to_datetime(row.get("nominalEndTime")),
            error_message=row.get("errorMessage"),
            malformed_facets=list(row.get("malformedFacets") or []),
        )


def _run_io(info: strawberry.Info, run_id: str, outputs: bool, limit: int | None
            ) -> list[RunDataset]:
    found = services(info).lineage.run_io(run_id, outputs, limit)
    return [
        RunDataset(
            dataset=Dataset.from_row(r["dataset"]),
            version=DatasetVersion.from_row(r["version"]) if r["version"] else None,
        )
        for r in found
    ]
