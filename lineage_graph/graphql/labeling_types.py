"""GraphQL types and inputs of labeling schemas."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from lineage_graph.graphql.types import _dt


@strawberry.enum
class LabelingSchemaType(Enum):
    FEEDBACK = "FEEDBACK"
    EXPECTATION = "EXPECTATION"


@strawberry.enum
class LabelingInputKind(Enum):
    CATEGORICAL = "CATEGORICAL"
    CATEGORICAL_LIST = "CATEGORICAL_LIST"
    NUMERIC = "NUMERIC"
    TEXT = "TEXT"
    TEXT_LIST = "TEXT_LIST"


@strawberry.input
class LabelingInputInput:
    kind: LabelingInputKind
    options: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    max_count: int | None = None


@strawberry.input
class LabelingSchemaInput:
    name: str
    type: LabelingSchemaType
    title: str
    instruction: str = ""
    input: LabelingInputInput
    enable_comment: bool = False

    def as_definition(self) -> dict[str, Any]:
        given = {"kind": self.input.kind.value, "options": self.input.options,
                 "min": self.input.min, "max": self.input.max,
                 "maxLength": self.input.max_length, "maxCount": self.input.max_count}
        return {"name": self.name, "type": self.type.value, "title": self.title,
                "instruction": self.instruction,
                "input": {k: v for k, v in given.items() if v is not None},
                "enableComment": self.enable_comment}


@strawberry.type
class LabelingInput:
    kind: LabelingInputKind
    options: list[str] | None
    min: float | None
    max: float | None
    max_length: int | None
    max_count: int | None


@strawberry.type(description="One immutable version of a labeling schema.")
class LabelingSchemaVersion:
    id: strawberry.ID
    name: str
    version: int
    type: LabelingSchemaType
    title: str
    instruction: str
    input: LabelingInput
    enable_comment: bool
    changes: list[str] = strawberry.field(
        description="Fields that differ from the previous version (empty for version 1).")
    created_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LabelingSchemaVersion:
        definition = json.loads(row["definition"])
        spec = definition["input"]
        return cls(
            id=strawberry.ID(row["nodeId"]), name=row["name"], version=row["version"],
            type=LabelingSchemaType(definition["type"]), title=definition["title"],
            instruction=definition.get("instruction", ""),
            input=LabelingInput(kind=LabelingInputKind(spec["kind"]),
                                options=spec.get("options"), min=spec.get("min"),
                                max=spec.get("max"), max_length=spec.get("maxLength"),
                                max_count=spec.get("maxCount")),
            enable_comment=definition.get("enableComment", False),
            changes=list(row.get("changes") or []), created_at=_dt(row.get("createdAt")),
        )


@strawberry.enum
class LabelSource(Enum):
    HUMAN = "HUMAN"
    LLM_JUDGE = "LLM_JUDGE"
    CODE = "CODE"


@strawberry.input
class SchemaRefInput:
    name: str
    version: int | None = None


@strawberry.input
class DatasetRefInput:
    namespace: str
    name: str


@strawberry.input
class LabelingSessionInput:
    name: str
    schemas: list[SchemaRefInput]
    dataset: DatasetRefInput
    assigned_users: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class LabelInput:
    item_id: str
    schema: str
    value: JSON
    source: LabelSource
    author: str
    comment: str | None = None
    time: datetime | None = None


@strawberry.type
class DatasetRef:
    namespace: str
    name: str


@strawberry.type
class LabelingSession:
    id: strawberry.ID
    name: str
    schemas: list[LabelingSchemaVersion]
    dataset: DatasetRef = strawberry.field(description="The dataset being labeled.")
    labels_dataset: DatasetRef = strawberry.field(
        description="The output dataset the labels form (a version per addLabels call).")
    assigned_users: list[str]
    label_count: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LabelingSession:
        return cls(
            id=strawberry.ID(row["nodeId"]), name=row["name"],
            schemas=[LabelingSchemaVersion.from_row(s) for s in row["schemas"]],
            dataset=DatasetRef(**row["target"]), labels_dataset=DatasetRef(**row["labels"]),
            assigned_users=list(row.get("assignedUsers") or []),
            label_count=row["labelCount"],
        )


@strawberry.type
class AddLabelsResult:
    added: int
    dataset_version: str = strawberry.field(description="The labels dataset's new version.")
    dataset_version_id: strawberry.ID
    replayed: bool = strawberry.field(
        description="True when batchKey named a batch written before: nothing was written.")
