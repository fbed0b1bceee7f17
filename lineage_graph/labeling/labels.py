"""Labeling sessions and labels.

A session names the schema versions it uses and the dataset it labels. Every ``addLabels`` call
is checked whole against those schema versions (each rule names the item, the schema and the
rule) and, if every label passes, written in one transaction as a new version of the session's
labels dataset, so a training run that reads that dataset reaches the schema versions in
lineage.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from lineage_graph.db import labeling as store
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError, NotFoundError
from lineage_graph.ids import bounded, dataset_id
from lineage_graph.json_limits import json_problem
from lineage_graph.labeling.commands import run_command
from lineage_graph.ledger.receipt import Receipt

LABELS_NAMESPACE = "lineage-graph.labels"
SOURCES = ("HUMAN", "LLM_JUDGE", "CODE")


@dataclass(frozen=True)
class LabelInput:
    item_id: str
    schema: str
    value: Any
    source: str
    author: str
    comment: str | None = None
    time: datetime | None = None


def check_value(definition: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` breaks the schema's input, or None when it fits."""
    spec = definition["input"]
    kind = spec["kind"]
    if kind == "CATEGORICAL":
        if not isinstance(value, str):
            return f"value must be one option (a string), got {type(value).__name__}"
        if value not in spec["options"]:
            return f"option {value!r} is not one of {spec['options']}"
    elif kind == "CATEGORICAL_LIST":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "value must be a list of options"
        unknown = [v for v in value if v not in spec["options"]]
        if unknown:
            return f"options {unknown} are not among {spec['options']}"
    elif kind == "NUMERIC":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            return f"value must be a finite number, got {type(value).__name__}"
        if spec.get("min") is not None and value < spec["min"]:
            return f"{value} is below the minimum {spec['min']}"
        if spec.get("max") is not None and value > spec["max"]:
            return f"{value} is above the maximum {spec['max']}"
    elif kind == "TEXT":
        if not isinstance(value, str):
            return f"value must be text, got {type(value).__name__}"
        if spec.get("maxLength") and len(value) > spec["maxLength"]:
            return f"text of {len(value)} characters exceeds maxLength {spec['maxLength']}"
    elif kind == "TEXT_LIST":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "value must be a list of texts"
        if spec.get("maxCount") and len(value) > spec["maxCount"]:
            return f"{len(value)} texts exceed maxCount {spec['maxCount']}"
        too_long = [v for v in value if spec.get("maxLength") and len(v) > spec["maxLength"]]
        if too_long:
            return f"a text exceeds maxLength {spec['maxLength']}"
    return None


class LabelingSessionService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_session(self, name: str, schemas: list[tuple[str, int | None]],
                       dataset: tuple[str, str], users: list[str],
                       receipt: Receipt | None = None) -> dict[str, Any]:
        """Open a session. The name identifies it: creating it again with the same schema
        versions, dataset and users returns it unchanged; anything else is refused."""
        if not name.strip():
            raise InvalidRequestError("a session needs a name", field="name")
        versions = self._resolve(schemas)
        labels_name = f"session/{name}"
        session_id = bounded(f"labelingSession:{name}")
        command = {
            "action": "createLabelingSession", "sessionId": session_id, "name": name,
            "schemaVersionIds": versions, "users": users,
            "target": {"id": dataset_id(*dataset), "namespace": dataset[0], "name": dataset[1]},
            "labels": {"id": dataset_id(LABELS_NAMESPACE, labels_name),
                       "namespace": LABELS_NAMESPACE, "name": labels_name},
        }
        written = self.db.write(lambda tx: run_command(tx, command, receipt or Receipt.now()))
        found: dict[str, Any] = written["session"]
        # Asked again after updateLabelingSession: the versions it started with still match.
        same = (set(versions) <= set(found["usedSchemaIds"])
                and found["target"] == {"namespace": dataset[0], "name": dataset[1]}
                and sorted(found.get("assignedUsers") or []) == sorted(users))
        if not same:
            raise InvalidRequestError(
                f"a labeling session named {name!r} already exists with other schemas, dataset "
                "or users (use updateLabelingSession to change its schemas)", field="name")
        return found

    def update_schemas(self, session_id: str, schemas: list[tuple[str, int | None]],
                       receipt: Receipt | None = None) -> dict[str, Any]:
        """Switch the schema versions new labels are checked against (e.g. to a schema's new
        version midway). Earlier batches keep the versions they were labeled under."""
        if self.session(session_id) is None:
            raise NotFoundError(f"no labeling session {session_id!r}")
        versions = self._resolve(schemas)
        command = {"action": "setLabelingSessionSchemas", "sessionId": session_id,
                   "schemaVersionIds": versions, "callId": str(uuid.uuid4())}
        self.db.write(lambda tx: run_command(tx, command, receipt or Receipt.now()))
        found = self.session(session_id)
        assert found is not None
        return found

    def _resolve(self, schemas: list[tuple[str, int | None]]) -> list[str]:
        if not schemas:
            raise InvalidRequestError("a session uses at least one schema", field="schemas")
        versions = []
        for index, (schema, version) in enumerate(schemas):
            found = self.db.read(partial(store.schema_version, name=schema, version=version))
            if found is None:
                wanted = f"{schema} version {version}" if version else schema
                raise NotFoundError(f"schemas[{index}]: no labeling schema {wanted}")
            versions.append(found["nodeId"])
        if len({v.rsplit(":v", 1)[0] for v in versions}) != len(versions):
            raise InvalidRequestError("a session uses one version of each schema",
                                      field="schemas")
        return versions

    def session(self, session_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: store.session(tx, session_id))

    def add_labels(self, session_id: str, labels: list[LabelInput],
                   batch_key: str | None = None, receipt: Receipt | None = None
                   ) -> dict[str, Any]:
        """Check and write one batch. ``batch_key`` makes the call idempotent: a key already
        used returns that batch (same labels) or is refused (different labels). A label
        without a time gets the time the call was received."""
        receipt = receipt or Receipt.now()
        received = datetime.fromtimestamp(receipt.received_at_ms / 1000, UTC)
        session = self.session(session_id)
        if session is None:
            raise NotFoundError(f"no labeling session {session_id!r}")
        if not labels:
            raise InvalidRequestError("no labels given", field="labels")
        schemas = {s["name"]: s for s in session["schemas"]}
        rows = []
        for index, label in enumerate(labels):
            where = f"labels[{index}] (item {label.item_id!r}, schema {label.schema!r})"
            schema = schemas.get(label.schema)
            if schema is None:
                raise InvalidRequestError(
                    f"{where}: the session does not use schema {label.schema!r} "
                    f"(it uses {sorted(schemas)})", field=f"labels[{index}].schema")
            unstorable = json_problem([label.value, label.item_id, label.author,
                                       label.comment or ""])
            if unstorable is not None:  # a 1e400-sized number, a lone surrogate, ...
                part = ("value", "itemId", "author", "comment")[int(unstorable.path[1])]
                raise InvalidRequestError(f"{where}: {part}: {unstorable.problem}",
                                          field=f"labels[{index}].{part}")
            definition = json.loads(schema["definition"])
            problem = check_value(definition, label.value)
            if problem is not None:
                raise InvalidRequestError(f"{where}: {problem}", field=f"labels[{index}].value")
            if label.source not in SOURCES:
                raise InvalidRequestError(f"{where}: source must be one of {SOURCES}",
                                          field=f"labels[{index}].source")
            if label.comment and not definition.get("enableComment", False):
                raise InvalidRequestError(f"{where}: comments are disabled for this schema",
                                          field=f"labels[{index}].comment")
            if not label.item_id or not label.author:
                raise InvalidRequestError(f"{where}: itemId and author are required",
                                          field=f"labels[{index}]")
            rows.append({
                "itemId": label.item_id, "schemaVersionId": schema["nodeId"],
                "value": json.dumps(label.value, sort_keys=True), "source": label.source,
                "author": label.author, "comment": label.comment,
                "time": (label.time or received).isoformat(),
            })
        digest = hashlib.sha256(json.dumps(
            [[lb.item_id, lb.schema, lb.value, lb.source, lb.author, lb.comment,
              None if lb.time is None else lb.time.isoformat()] for lb in labels],
            sort_keys=True).encode()).hexdigest()
        call_id = str(uuid.uuid4())
        for index, row in enumerate(rows):  # derived, not random: a rebuild gives the same ids
            row["labelId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{call_id}#{index}"))
        command = {"action": "addLabels", "sessionId": session_id, "labels": rows,
                   "batchKey": batch_key, "labelsDigest": digest, "callId": call_id}
        written = self.db.write(lambda tx: run_command(tx, command, receipt))
        if written["existing"] and written["labelsDigest"] != digest:
            raise InvalidRequestError(
                f"batchKey {batch_key!r} was used for other labels ({written['version']})",
                field="batchKey")
        return written
