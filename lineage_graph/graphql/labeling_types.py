"""GraphQL types and inputs of labeling schemas, sessions and labels."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from lineage_graph.graphql.context import ListLimit, off_loop, services
from lineage_graph.graphql.types import to_datetime
from lineage_graph.labeling.queries import label_cursor


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
            changes=list(row.get("changes") or []), created_at=to_datetime(row.get("createdAt")),
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


@strawberry.type(description="A labeling schema version, by name and version number.")
class SchemaVersionRef:
    id: strawberry.ID
    name: str
    version: int


@strawberry.type(description="The labeling session a label was given in.")
class SessionRef:
    id: strawberry.ID
    name: str


@strawberry.type(description="One label (or piece of human feedback) on one item.")
class Label:
    id: strawberry.ID
    item_id: str
    value: JSON
    source: LabelSource
    author: str
    comment: str | None
    time: datetime | None = strawberry.field(
        description="When it was given (as sent, else when the batch was received).")
    schema: SchemaVersionRef = strawberry.field(
        description="The schema version the value was checked against.")
    batch: str = strawberry.field(
        description="The labels dataset version the label came in (batch-N).")
    batch_id: strawberry.ID
    session: SessionRef
    cursor: str = strawberry.field(
        description="Pass as `after` to get the labels that follow this one.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Label:
        return cls(
            id=strawberry.ID(row["labelId"]), item_id=row["itemId"],
            value=json.loads(row["value"]), source=LabelSource(row["source"]),
            author=row["author"], comment=row.get("comment"), time=to_datetime(row["time"]),
            schema=SchemaVersionRef(id=strawberry.ID(row["schemaVersionId"]),
                                    name=row["schemaName"], version=row["schemaVersion"]),
            batch=row["batch"], batch_id=strawberry.ID(row["batchId"]),
            session=SessionRef(id=strawberry.ID(row["sessionId"]), name=row["sessionName"]),
            cursor=label_cursor(row),
        )


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

    @strawberry.field(description="The session's labels in the order they were given (time, "
                                  "then id), optionally for one item or one schema; page with "
                                  "`after` (a label's cursor).")
    async def labels(self, info: strawberry.Info, limit: ListLimit = None,
                     after: str | None = None, item_id: str | None = None,
                     schema: str | None = None) -> list[Label]:
        found = await off_loop(services(info).labels.of_session, str(self.id),
                               item_id=item_id, schema=schema, after=after, limit=limit)
        return [Label.from_row(r) for r in found]

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
