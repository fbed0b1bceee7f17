"""Appending to the record: every write takes the sequence lock first, numbers and chains its
records after the head (ledger.chain) and writes them in the transaction that makes its changes
(the Cypher is in ``lineage_graph.db.lineage_writes``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import neo4j

from lineage_graph.db import lineage_writes
from lineage_graph.db.lineage_rows import PlanRows, RecordRow
from lineage_graph.db.lineage_writes import SequenceState
from lineage_graph.ledger.chain import chain_events
from lineage_graph.openlineage.canonical import canonical_json

T = TypeVar("T")


def record_and_apply(tx: neo4j.ManagedTransaction, plan: PlanRows,
                     state: SequenceState) -> dict[str, int]:
    """Append a write plan's events to the record (chained after ``state``) and apply the plan:
    one round trip. Returns each recorded event's sequence number by sha256."""
    events = plan.get("events", [])
    if not events:
        return {}
    chained, head = chain_events(events, state.base, state.head)
    return lineage_writes.write_records_and_plan(tx, plan, chained, head)


def record_only(tx: neo4j.ManagedTransaction, rows: list[RecordRow[str]],
                state: SequenceState) -> dict[str, int]:
    """Append records whose writes the caller made in the same transaction (scene documents):
    the same chain, under the same sequence lock."""
    chained, head = chain_events(rows, state.base, state.head)
    return lineage_writes.write_records(tx, chained, head)


def change_record(record_type: str, kind: str, subject: str | None, receipt: dict[str, Any],
                  sha256: str, raw: str) -> RecordRow[str]:
    """The row of a record that is not an OpenLineage event (RECORD_EVENTS' columns)."""
    return {"recordType": record_type, "kind": kind, "subject": subject,
            "receivedAtMs": receipt["receivedAtMs"], "keyId": receipt["keyId"],
            "sha256": sha256, "raw": raw, "eventType": None, "eventTime": None, "runId": None,
            "warnings": []}


def record_made_change(tx: neo4j.ManagedTransaction, record_type: str, kind: str,
                       receipt: dict[str, Any],
                       make: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """Make a change whose record says what it did (retention: which records it pruned): take
    the sequence lock first, run ``make`` (it writes and returns the change, or None when it
    did nothing), and record the change in the same transaction."""
    state = lineage_writes.lock_and_find_existing(tx, [])
    change = make()
    if change is None:
        return None
    raw = canonical_json(change)
    sha = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    record_only(tx, [change_record(record_type, kind, None, receipt, sha, raw)], state)
    return change


def record_change(tx: neo4j.ManagedTransaction, record_type: str, kind: str,
                  subject: str | None, change: dict[str, Any], receipt: dict[str, Any],
                  apply: Callable[[], tuple[T, bool]]) -> T:
    """Make one recorded change (an API key, a labeling call, a checkpoint): take the sequence
    lock first (the order every writer takes, ingestion included: no lock-order deadlock), run
    ``apply`` (its result, and whether it wrote anything), and record the change's canonical
    JSON if it did. The same change twice is recorded once; changes that may repeat carry a
    call id to stay distinct."""
    raw = canonical_json(change)
    sha = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    state = lineage_writes.lock_and_find_existing(tx, [sha])
    result, changed = apply()
    if changed and sha not in state.existing:
        record_only(tx, [change_record(record_type, kind, subject, receipt, sha, raw)], state)
    return result
