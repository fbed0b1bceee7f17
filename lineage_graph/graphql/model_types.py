"""GraphQL type of model versions."""

from __future__ import annotations

from typing import Any

import strawberry

from lineage_graph.graphql.context import off_loop, services
from lineage_graph.graphql.types import Run


@strawberry.type(description="A model version, from an mlModel facet on a run's output.")
class ModelVersion:
    id: strawberry.ID
    name: str
    version: str
    digest: str
    framework: str | None
    format: str | None

    @strawberry.field(description="The run that produced this model version.")
    async def trained_by(self, info: strawberry.Info) -> Run | None:
        row = await off_loop(services(info).models.trained_by, str(self.id))
        return Run.from_row(row) if row else None

    @strawberry.field(description="Base model versions (by the derivedFrom digests).")
    async def derived_from(self, info: strawberry.Info) -> list[ModelVersion]:
        found = await off_loop(services(info).models.derived_from, str(self.id))
        return [ModelVersion.from_row(r) for r in found]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelVersion:
        return cls(id=strawberry.ID(row["nodeId"]), name=row["name"], version=row["version"],
                   digest=row["digest"], framework=row.get("framework"),
                   format=row.get("format"))
