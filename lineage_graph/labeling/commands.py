"""Labeling writes as recorded commands.

Each labeling call that changes the graph (a new schema version, a new session, a change of a
session's schemas, a batch of labels) is a *command*: the call's inputs, resolved and validated
by the services (``schemas``, ``labels``), as plain JSON. The command is recorded in the event
record's hash chain (``recordType: labeling``) in the same transaction as its projection, and
:func:`apply_command` is that projection: the services call it, and ``db rebuild`` calls it
again in sequence order with the record's time, which writes the same graph.

Commands that may repeat with the same content (switching a session back to earlier schemas,
two identical label batches) carry a ``callId`` so each call is its own record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import neo4j

from lineage_graph.db import labeling as store
from lineage_graph.ledger import append
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.openlineage.canonical import canonical_json

Command = dict[str, Any]


def run_command(tx: neo4j.ManagedTransaction, command: Command, receipt: Receipt
                ) -> dict[str, Any]:
    """Apply a command and, if it changed the graph, record it. Returns what it applied."""
    def apply() -> tuple[dict[str, Any], bool]:
        result = apply_command(tx, command, receipt.received_at_ms)
        return result, bool(result.get("changed"))

    return append.record_change(tx, "labeling", command["action"], _subject(command),
                                        command, receipt.row(), apply)


def apply_command(tx: neo4j.ManagedTransaction, command: Command, at_ms: int
                  ) -> dict[str, Any]:
    """The command's projection into the graph; ``changed`` says whether it wrote anything."""
    return _APPLY[command["action"]](tx, command, at_ms)


def apply_labeling_record(tx: neo4j.ManagedTransaction, raw: str, at_ms: int) -> None:
    """Project a recorded command again (``db rebuild``)."""
    apply_command(tx, json.loads(raw), at_ms)


def _subject(command: Command) -> str:
    return str(command.get("sessionId") or command["definition"]["name"])


def _create_schema_version(tx: neo4j.ManagedTransaction, command: Command, at_ms: int
                           ) -> dict[str, Any]:
    # Imported here: the schemas service imports this module to run its commands.
    from lineage_graph.labeling.schemas import changed_fields

    definition = command["definition"]
    canonical = canonical_json(definition)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    existing, latest = store.lock_schema_and_find(tx, name=definition["name"], digest=digest,
                                                  at_ms=at_ms)
    if existing is not None:
        return {"version": existing, "changed": False}
    previous = json.loads(latest["definition"]) if latest else None
    created = store.create_version(
        tx, name=definition["name"], definition=canonical, digest=digest,
        version=(latest["version"] + 1) if latest else 1,
        changes=changed_fields(previous, definition), fields=command["fields"], at_ms=at_ms)
    return {"version": created, "changed": True}


def _create_session(tx: neo4j.ManagedTransaction, command: Command, at_ms: int
                    ) -> dict[str, Any]:
    new = store.session(tx, command["sessionId"]) is None
    found = store.create_session(
        tx, session_id=command["sessionId"], name=command["name"],
        schema_version_ids=command["schemaVersionIds"], users=command["users"],
        target_id=command["target"]["id"], target_namespace=command["target"]["namespace"],
        target_name=command["target"]["name"], labels_id=command["labels"]["id"],
        labels_namespace=command["labels"]["namespace"], labels_name=command["labels"]["name"],
        at_ms=at_ms)
    return {"session": found, "changed": new}


def _set_session_schemas(tx: neo4j.ManagedTransaction, command: Command, at_ms: int
                         ) -> dict[str, Any]:
    current = store.session(tx, command["sessionId"]) or {}
    if sorted(current.get("activeSchemaVersionIds") or []) == sorted(
            command["schemaVersionIds"]):
        return {"changed": False}  # already active: nothing to write or record
    store.set_active_schemas(tx, command["sessionId"], command["schemaVersionIds"])
    return {"changed": True}


def _add_labels(tx: neo4j.ManagedTransaction, command: Command, at_ms: int) -> dict[str, Any]:
    written = store.add_labels(tx, session_id=command["sessionId"], labels=command["labels"],
                               batch_key=command["batchKey"],
                               labels_digest=command["labelsDigest"], at_ms=at_ms)
    return {**written, "changed": not written["existing"]}


_APPLY: dict[str, Callable[[neo4j.ManagedTransaction, Command, int], dict[str, Any]]] = {
    "createLabelingSchemaVersion": _create_schema_version,
    "createLabelingSession": _create_session,
    "setLabelingSessionSchemas": _set_session_schemas,
    "addLabels": _add_labels,
}
