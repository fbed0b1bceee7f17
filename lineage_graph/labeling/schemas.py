"""Labeling schemas (MLflow's labeling model): typed definitions and immutable versions.

A definition is canonicalised and hashed; creating a schema with a definition it already has
returns that version, and a changed definition becomes version n+1 with the list of fields that
changed from the previous version. The Cypher lives in ``lineage_graph.db.labeling``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lineage_graph.db import labeling as store
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError
from lineage_graph.json_limits import json_problem
from lineage_graph.labeling.commands import run_command
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.openlineage.canonical import canonical_json
from lineage_graph.openlineage.errors import first_error


class SchemaType(StrEnum):
    FEEDBACK = "FEEDBACK"
    EXPECTATION = "EXPECTATION"


class InputKind(StrEnum):
    CATEGORICAL = "CATEGORICAL"
    CATEGORICAL_LIST = "CATEGORICAL_LIST"
    NUMERIC = "NUMERIC"
    TEXT = "TEXT"
    TEXT_LIST = "TEXT_LIST"


# Which settings each kind of input takes (all others must be absent).
_SETTINGS: dict[InputKind, set[str]] = {
    InputKind.CATEGORICAL: {"options"},
    InputKind.CATEGORICAL_LIST: {"options"},
    InputKind.NUMERIC: {"min", "max"},
    InputKind.TEXT: {"maxLength"},
    InputKind.TEXT_LIST: {"maxLength", "maxCount"},
}


class SchemaInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: InputKind
    options: list[str] | None = None
    min: float | None = None
    max: float | None = None
    maxLength: int | None = Field(default=None, ge=1)
    maxCount: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> SchemaInput:
        allowed = _SETTINGS[self.kind]
        given = {k for k in ("options", "min", "max", "maxLength", "maxCount")
                 if getattr(self, k) is not None}
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(f"{', '.join(extra)} not allowed for a {self.kind} input")
        if "options" in allowed:
            if not self.options:
                raise ValueError(f"a {self.kind} input needs at least one option")
            if len(set(self.options)) != len(self.options):
                raise ValueError("options must be unique")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class LabelingSchemaDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: SchemaType
    title: str = Field(min_length=1)
    instruction: str = ""
    input: SchemaInput
    enableComment: bool = False

    def canonical(self) -> str:
        return canonical_json(self.model_dump(mode="json", exclude_none=True))


def parse_definition(raw: dict[str, Any]) -> LabelingSchemaDefinition:
    try:
        return LabelingSchemaDefinition.model_validate(raw)
    except ValidationError as exc:
        field, problem = first_error(exc)
        raise InvalidRequestError(f"{field}: {problem}" if field else problem,
                                  field=field or None) from exc


def changed_fields(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Dotted names of what differs from the previous definition (``input.options`` ...)."""
    if previous is None:
        return []
    changes: list[str] = []
    for key in sorted(set(previous) | set(current)):
        before, after = previous.get(key), current.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            changes += [f"{key}.{sub}" for sub in changed_fields(before, after)]
        elif before != after:
            changes.append(key)
    return changes


class LabelingSchemaService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, definition: LabelingSchemaDefinition, receipt: Receipt | None = None
               ) -> dict[str, Any]:
        """The version holding this definition: an existing one, or a new version n+1
        (recorded with its projection: ``lineage_graph.labeling.commands``)."""
        as_json = json.loads(definition.canonical())
        unstorable = json_problem(as_json)
        if unstorable is not None:
            raise InvalidRequestError(f"{unstorable.path}: {unstorable.problem}",
                                      field=unstorable.path)
        command = {
            "action": "createLabelingSchemaVersion",
            "definition": as_json,
            "fields": {"type": str(definition.type), "title": definition.title,
                       "instruction": definition.instruction,
                       "inputKind": str(definition.input.kind),
                       "enableComment": definition.enableComment},
        }
        written = self.db.write(lambda tx: run_command(tx, command, receipt or Receipt.now()))
        version: dict[str, Any] = written["version"]
        return version

    def get(self, name: str, version: int | None) -> dict[str, Any] | None:
        return self.db.read(lambda tx: store.schema_version(tx, name, version))
