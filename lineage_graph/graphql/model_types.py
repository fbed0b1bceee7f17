"""GraphQL types of model versions, their metrics and their origin."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from strawberry.scalars import JSON

from lineage_graph.graphql.context import ListLimit, off_loop, services
from lineage_graph.graphql.scene_types import SceneVariant
from lineage_graph.graphql.types import Run


@strawberry.type(description="Where a metric was measured: dimensions and/or a scene variant.")
class MetricSlice:
    dimensions: JSON = strawberry.field(description="The slice's dimensions, key -> value.")
    scene_variant: SceneVariant | None


@strawberry.type(description="One value an evaluation run measured for a model version.")
class Metric:
    id: strawberry.ID
    name: str
    value: float
    higher_is_better: bool | None
    slice: MetricSlice | None = strawberry.field(description="Null for an overall metric.")
    run: Run = strawberry.field(description="The evaluation run that measured it.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Metric:
        metric = row["metric"]
        dimensions = json.loads(metric.get("dimensions") or "{}")
        variant = row.get("sceneVariant")
        slice_ = None
        if dimensions or variant is not None:
            slice_ = MetricSlice(dimensions=dimensions,
                                 scene_variant=SceneVariant.from_row(variant) if variant else None)
        return cls(id=strawberry.ID(metric["metricId"]), name=metric["name"],
                   value=metric["value"], higher_is_better=metric.get("higherIsBetter"),
                   slice=slice_, run=Run.from_row(row["run"]))


@strawberry.type(description="A model version, from an mlModel facet on a run's output (or, "
                             "until that arrives, named by an evaluation facet).")
class ModelVersion:
    id: strawberry.ID
    name: str
    version: str
    digest: str | None = strawberry.field(
        description="Null while only an evaluation facet has named this version.")
    framework: str | None
    format: str | None
    tensor_count: int | None = strawberry.field(
        description="How many tensors its mlModel facet listed (null: none listed).")

    @strawberry.field(description="The run that produced this model version.")
    async def trained_by(self, info: strawberry.Info) -> Run | None:
        row = await off_loop(services(info).models.trained_by, str(self.id))
        return Run.from_row(row) if row else None

    @strawberry.field(description="Base model versions (by the derivedFrom digests).")
    async def derived_from(self, info: strawberry.Info) -> list[ModelVersion]:
        found = await off_loop(services(info).models.derived_from, str(self.id))
        return [ModelVersion.from_row(r) for r in found]

    @strawberry.field(description="Metrics measured for this version (evaluation facets), "
                                  "all or those with this name.")
    async def metrics(self, info: strawberry.Info, name: str | None = None,
                      limit: ListLimit = None) -> list[Metric]:
        found = await off_loop(services(info).models.metrics, str(self.id), name, limit)
        return [Metric.from_row(r) for r in found]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelVersion:
        return cls(id=strawberry.ID(row["nodeId"]), name=row["name"], version=row["version"],
                   digest=row.get("digest"), framework=row.get("framework"),
                   format=row.get("format"), tensor_count=row.get("tensorCount"))


@strawberry.type(description="A known model version ranked as a possible origin (base) of a "
                             "model, by the tensors they share.")
class ModelOriginCandidate:
    rank: int
    model_version: ModelVersion
    shared_tensors: int = strawberry.field(
        description="Distinct tensors (same dtype, shape and bytes) both models hold.")
    query_tensors: int = strawberry.field(description="Distinct tensors of the queried model.")
    candidate_tensors: int = strawberry.field(description="Distinct tensors of the candidate.")
    score: float = strawberry.field(
        description="sharedTensors / queryTensors: the share of the queried model found in "
                    "the candidate.")
    declared: bool = strawberry.field(
        description="Whether the queried model also declares it in derivedFrom.")

    @classmethod
    def from_row(cls, rank: int, row: dict[str, Any]) -> ModelOriginCandidate:
        return cls(rank=rank, model_version=ModelVersion.from_row(row["node"]),
                   shared_tensors=row["shared"], query_tensors=row["queryTensors"],
                   candidate_tensors=row["candidateTensors"],
                   score=row["shared"] / row["queryTensors"], declared=row["declared"])
