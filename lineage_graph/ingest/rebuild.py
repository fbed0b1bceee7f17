"""Rebuild the whole graph from the event record (``lineage-graph db rebuild``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from lineage_graph.db import event_records, lineage_writes
from lineage_graph.db.connection import Database
from lineage_graph.ingest.plan import WritePlan
from lineage_graph.openlineage.parse import parse_event_text


def rebuild(db: Database, chunk: int = 500, on_progress: Callable[[int, int], None] | None = None
            ) -> int:
    """Delete the derived graph and re-apply every recorded event in sequence order.
    Returns the number of events replayed."""
    total = db.read(event_records.count_events)
    with db.driver.session(database=db.name) as session:
        # CALL ... IN TRANSACTIONS needs an auto-commit transaction.
        session.run(event_records.DELETE_DERIVED_GRAPH).consume()
    done = 0
    after = 0
    while True:
        batch = db.read(partial(event_records.events_after, after=after, limit=chunk))
        if not batch:
            break
        plan = WritePlan()
        for row in batch:
            plan.add(parse_event_text(row["raw"]))
        params = plan.parameters()
        db.write(partial(lineage_writes.apply_plan, params=params))
        done += len(batch)
        after = batch[-1]["seq"]
        if on_progress:
            on_progress(done, total)
    return done
