"""Ingest OpenLineage events: validate, deduplicate, record and apply, atomically.

A batch is written in one transaction (a fixed number of ``UNWIND`` statements). If that
transaction fails for a reason other than Neo4j being unreachable, the events are written one
transaction each, so one event the database refuses cannot take the others down with it. Either
way an event is all-or-nothing: its record and its graph changes commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence, Set
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal

import neo4j
from neo4j.exceptions import Neo4jError

from lineage_graph.db import lineage_writes
from lineage_graph.db.connection import Database
from lineage_graph.db.lineage_rows import PlanRows
from lineage_graph.errors import InvalidEventError, Neo4jUnavailableError
from lineage_graph.ingest.plan import WritePlan
from lineage_graph.ledger import append
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.openlineage.parse import ParsedEvent, parse_event

log = logging.getLogger(__name__)

Status = Literal["accepted", "duplicate", "rejected", "spooled"]


@dataclass
class EventOutcome:
    index: int
    status: Status
    sha256: str | None = None
    seq: int | None = None
    field: str | None = None
    error: str | None = None
    warnings: list[dict[str, str]] = dataclass_field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        for key in ("sha256", "seq", "field", "error"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.warnings:
            out["warnings"] = self.warnings
        return out


@dataclass
class BatchResult:
    outcomes: list[EventOutcome]

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> dict[str, int]:
        counts = {s: self.count(s) for s in ("accepted", "duplicate", "rejected")}
        if self.count("spooled"):
            counts["spooled"] = self.count("spooled")
        return counts


class IngestService:
    def __init__(self, db: Database, chunk_size: int = 100) -> None:
        self.db = db
        self.chunk_size = chunk_size

    def ingest_one(self, parsed: ParsedEvent, receipt: Receipt | None = None) -> EventOutcome:
        return self.write_parsed([(0, parsed)], [receipt or Receipt.now()])[0]

    def ingest_raw(self, raws: Sequence[tuple[Any, str | None]],
                   receipts: Receipt | Sequence[Receipt] | None = None,
                   on_progress: Callable[[int], None] | None = None) -> BatchResult:
        """Validate and write many events (JSON values with their source text, if any).

        ``receipts``: one for the whole batch (one request), one per event (the spool's), or
        None (received now, by no key: the CLI). ``on_progress`` is told how many events each
        chunk held once it is written (or refused).

        Two-stage pipeline: while one chunk is being written (the thread waits on Neo4j), the
        next chunk is validated, so Python's CPU work overlaps the database's. Chunks commit in
        order. If Neo4j becomes unreachable mid-way, the chunks already committed stay written
        (a retry of the whole batch answers them as duplicates) and the error propagates.
        """
        if receipts is None or isinstance(receipts, Receipt):
            receipts = [receipts or Receipt.now()] * len(raws)
        outcomes: dict[int, EventOutcome] = {}
        previous_size = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
            pending: Future[list[EventOutcome]] | None = None
            for start in range(0, len(raws), self.chunk_size):
                valid: list[tuple[int, ParsedEvent]] = []
                for index in range(start, min(start + self.chunk_size, len(raws))):
                    raw, text = raws[index]
                    try:
                        valid.append((index, parse_event(raw, text)))
                    except InvalidEventError as exc:
                        outcomes[index] = EventOutcome(index, "rejected", field=exc.field,
                                                       error=str(exc))
                # The chunk's write plan is built here too, while the previous chunk is
                # being written, not by the writer holding the sequence lock.
                prepared = PreparedWrite.of(valid, receipts) if valid else None
                if pending is not None:
                    outcomes.update((o.index, o) for o in pending.result())
                if on_progress is not None and start:
                    on_progress(previous_size)  # the previous chunk is written (or refused)
                pending = (writer.submit(self.write_prepared, prepared) if prepared is not None
                           else None)
                previous_size = min(self.chunk_size, len(raws) - start)
            if pending is not None:
                outcomes.update((o.index, o) for o in pending.result())
            if on_progress is not None and raws:
                on_progress(previous_size)
        return BatchResult([outcomes[i] for i in sorted(outcomes)])

    def write_parsed(self, events: Sequence[tuple[int, ParsedEvent]],
                     receipts: Sequence[Receipt]) -> list[EventOutcome]:
        """Write parsed events; ``receipts[index]`` is the receipt of the event at ``index``."""
        return self.write_prepared(PreparedWrite.of(events, receipts))

    def write_prepared(self, prepared: PreparedWrite) -> list[EventOutcome]:
        try:
            return self.db.write(lambda tx: _write_batch(tx, prepared))
        except Neo4jUnavailableError:
            raise
        except Neo4jError as exc:
            events = prepared.events
            if len(events) == 1:
                index, parsed = events[0]
                log.warning("event %s refused by Neo4j: %s", parsed.sha256, exc)
                return [EventOutcome(index, "rejected", sha256=parsed.sha256,
                                     error=f"the database refused this event: {exc.message}")]
            log.info("batch of %d failed (%s); writing events one by one", len(events), exc)
            return [o for item in events
                    for o in self.write_parsed([item], prepared.receipts)]


@dataclass(frozen=True)
class PreparedWrite:
    """Parsed events with the write plan of each distinct one, built before the transaction:
    a writer holds the sequence lock only for Neo4j's work, not for Python's."""

    events: Sequence[tuple[int, ParsedEvent]]
    receipts: Sequence[Receipt]
    plan: PlanRows  # every distinct event (the first of each sha256)

    @classmethod
    def of(cls, events: Sequence[tuple[int, ParsedEvent]],
           receipts: Sequence[Receipt]) -> PreparedWrite:
        return cls(events, receipts, _plan(events, receipts, frozenset()))

    def plan_without(self, recorded: Set[str]) -> PlanRows:
        """The plan, less events the record already holds (none, almost always)."""
        if not recorded:
            return self.plan
        return _plan(self.events, self.receipts, recorded)


def _plan(events: Sequence[tuple[int, ParsedEvent]], receipts: Sequence[Receipt],
          skip: Set[str]) -> PlanRows:
    plan = WritePlan()
    planned: set[str] = set()
    for index, parsed in events:
        if parsed.sha256 in skip or parsed.sha256 in planned:
            continue
        planned.add(parsed.sha256)
        plan.add(parsed, receipts[index])
    return plan.parameters()


def _write_batch(tx: neo4j.ManagedTransaction, prepared: PreparedWrite) -> list[EventOutcome]:
    events = prepared.events
    state = lineage_writes.lock_and_find_existing(tx, sorted({p.sha256 for _, p in events}))
    existing = state.existing
    seqs = append.record_and_apply(tx, prepared.plan_without(existing.keys()), state)
    outcomes: list[EventOutcome] = []
    first_index: dict[str, int] = {}
    for index, parsed in events:
        sha = parsed.sha256
        if sha in seqs and sha not in first_index:
            first_index[sha] = index
            outcomes.append(EventOutcome(index, "accepted", sha256=sha, seq=seqs[sha],
                                         warnings=parsed.warnings()))
        else:
            seq = existing.get(sha, seqs.get(sha))
            outcomes.append(EventOutcome(index, "duplicate", sha256=sha, seq=seq,
                                         warnings=parsed.warnings()))
    return outcomes
