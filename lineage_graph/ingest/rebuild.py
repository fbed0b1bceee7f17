"""Rebuild the whole graph from the event record (``lineage-graph db rebuild``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from lineage_graph.db import event_records, lineage_writes
from lineage_graph.db.connection import Database
from lineage_graph.errors import LineageGraphError, UnrecordedDataError
from lineage_graph.ingest.plan import WritePlan
from lineage_graph.labeling.commands import apply_labeling_record
from lineage_graph.openlineage.parse import parse_event_text
from lineage_graph.usd.store import apply_scene_record


def rebuild(db: Database, chunk: int = 500, on_progress: Callable[[int, int], None] | None = None,
            force: bool = False) -> int:
    """Delete the derived graph and re-apply every record (OpenLineage events and scene
    documents) in sequence order. Returns the number of records replayed.

    Refuses (UnrecordedDataError, nothing deleted) while the graph holds what no record can
    bring back, unless ``force``: labeling data and scene versions written before they were
    recorded."""
    unrecorded = db.read(event_records.unrecorded_data)
    if unrecorded and not force:
        held = ", ".join(f"{count} {label}" for label, count in unrecorded.items())
        raise UnrecordedDataError(
            f"db rebuild would delete what the event record does not hold: {held} (written "
            "before such writes were recorded; re-ingest scenes to record them). Pass --force "
            "to rebuild anyway and lose them")
    total = _check_every_record_replays(db, chunk)
    with db.driver.session(database=db.name) as session:
        # CALL ... IN TRANSACTIONS needs an auto-commit transaction.
        event_records.delete_derived_graph(session)
    done = 0
    after = 0
    while True:
        batch = db.read(partial(event_records.events_after, after=after, limit=chunk))
        if not batch:
            break
        plan = WritePlan()
        for row in batch:
            if row["recordType"] in ("apiKey", "checkpoint", "retention"):
                continue  # not derived: rebuild keeps keys and checkpoints (verify checks)
            if row["raw"] is None:
                continue  # pruned by retention: its run stays gone
            if row["recordType"] in ("scene", "labeling"):
                # Records apply in sequence: the events before this one first.
                _apply(db, plan)
                plan = WritePlan()
                if row["recordType"] == "scene":
                    db.write(partial(apply_scene_record, raw=row["raw"],
                                     at_ms=row["receivedAtMs"]))
                else:
                    db.write(partial(apply_labeling_record, raw=row["raw"],
                                     at_ms=row["receivedAtMs"]))
            else:
                plan.add(parse_event_text(row["raw"], recorded=True))
        _apply(db, plan)
        done += len(batch)
        after = batch[-1]["seq"]
        if on_progress:
            on_progress(done, total)
    return done


def _check_every_record_replays(db: Database, chunk: int) -> int:
    """Read every record as the replay will, before anything is deleted: a record that cannot
    be replayed stops the rebuild with the graph untouched. Returns the number of records."""
    count, after = 0, 0
    while batch := db.read(partial(event_records.events_after, after=after, limit=chunk)):
        for row in batch:
            if row["raw"] is None:
                continue  # pruned by retention
            try:
                if row["recordType"] == "openlineage":
                    parse_event_text(row["raw"], recorded=True)
                else:
                    json.loads(row["raw"])
            except (LineageGraphError, ValueError) as exc:
                raise UnrecordedDataError(
                    f"record {row['seq']} cannot be replayed ({exc}); nothing was deleted"
                ) from exc
        count += len(batch)
        after = batch[-1]["seq"]
    return count


def _apply(db: Database, plan: WritePlan) -> None:
    if plan.events:
        db.write(partial(lineage_writes.apply_plan, plan=plan.parameters()))
