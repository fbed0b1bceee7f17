"""Durable ingestion: an event is acknowledged only once Neo4j committed it (201) or the spool
fsync'd it (202). While the spool holds anything, new events join it, so they are applied in
arrival order; a background drain applies the spool once Neo4j answers again.

The drain never loses and never stalls: a corrupt spool line goes to the spool's quarantine, an
event the database refuses (or whose write times out every time) goes to the dead letters, each
before the spool's offset moves past it, and the events behind it are applied.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.errors import (
    InvalidEventError,
    Neo4jUnavailableError,
    QueryTimeoutError,
    TransactionTooLargeError,
)
from lineage_graph.ingest.dead_letters import DeadLetters
from lineage_graph.ingest.service import BatchResult, EventOutcome, IngestService
from lineage_graph.ingest.spool import Spool, SpooledEvent
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.metrics import METRICS
from lineage_graph.openlineage.parse import ParsedEvent, UnparseableEvent, parse_event

log = logging.getLogger(__name__)


@dataclass
class DrainResult:
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0  # set aside as dead letters
    quarantined: int = 0  # corrupt spool lines set aside

    def add(self, result: BatchResult) -> None:
        self.applied += result.count("accepted")
        self.duplicates += result.count("duplicate")
        self.rejected += result.count("rejected")


class DurableIngest:
    def __init__(self, ingest: IngestService, spool: Spool, db: Database,
                 dead_letters: DeadLetters | None = None) -> None:
        self.ingest = ingest
        self.spool = spool
        self.db = db
        self.dead_letters = dead_letters or DeadLetters(spool.directory)
        self.schema_ready = False
        self._schema_lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Apply schema/ once Neo4j answers (start-up may have found it down)."""
        if self.schema_ready:
            return
        with self._schema_lock:
            if not self.schema_ready:
                migrate(self.db)
                self.schema_ready = True

    def ingest_one(self, parsed: ParsedEvent, receipt: Receipt | None = None) -> EventOutcome:
        receipt = receipt or Receipt.now()
        if not self.spool.has_pending():
            try:
                self.ensure_schema()
                outcome = self.ingest.ingest_one(parsed, receipt)
                METRICS.count_outcomes([outcome])
                return outcome
            except Neo4jUnavailableError as exc:
                log.warning("Neo4j unavailable, spooling: %s", exc)
                METRICS.neo4j_errors.inc()
        self.spool.append([(parsed.sha256, parsed.text)], receipt)
        METRICS.spooled.inc()
        outcome = EventOutcome(0, "spooled", sha256=parsed.sha256, warnings=parsed.warnings())
        METRICS.count_outcomes([outcome])
        return outcome

    def ingest_raw(self, raws: Sequence[tuple[Any, str | None]],
                   receipt: Receipt | None = None) -> BatchResult:
        receipt = receipt or Receipt.now()
        if not self.spool.has_pending():
            try:
                self.ensure_schema()
                result = self.ingest.ingest_raw(raws, receipt)
                METRICS.count_outcomes(result.outcomes)
                return result
            except Neo4jUnavailableError as exc:
                # Chunks committed before the outage are spooled again: the drain answers them
                # as duplicates, so nothing is applied twice.
                log.warning("Neo4j unavailable mid-batch, spooling: %s", exc)
                METRICS.neo4j_errors.inc()
        outcomes: list[EventOutcome] = []
        to_spool: list[tuple[str, str]] = []
        for index, (raw, text) in enumerate(raws):
            try:
                parsed = parse_event(raw, text)
            except InvalidEventError as exc:
                outcomes.append(EventOutcome(index, "rejected", field=exc.field, error=str(exc)))
                continue
            to_spool.append((parsed.sha256, parsed.text))
            outcomes.append(EventOutcome(index, "spooled", sha256=parsed.sha256,
                                         warnings=parsed.warnings()))
        self.spool.append(to_spool, receipt)
        METRICS.spooled.inc(len(to_spool))
        METRICS.count_outcomes(outcomes)
        return BatchResult(outcomes)

    def drain(self, batch: int = 500, progress: Callable[[DrainResult], None] | None = None,
              wait: bool = True) -> DrainResult | None:
        """Apply the spool in order until it is empty; None when another process is draining
        and ``wait`` is False. Raises Neo4jUnavailableError when Neo4j goes away again (what
        was applied stays applied and committed)."""
        done = DrainResult()
        with self.spool.draining(wait) as mine:
            if not mine:
                return None
            self.ensure_schema()
            while True:
                pending = self.spool.pending(batch)
                if not pending:
                    return done
                corrupt = [e for e in pending if e.corrupt is not None]
                if corrupt:
                    log.error("%d corrupt spool lines quarantined", len(corrupt))
                    self.spool.quarantine(corrupt)
                    METRICS.spool_quarantined.inc(len(corrupt))
                    done.quarantined += len(corrupt)
                records = [e for e in pending if e.corrupt is None]
                result = self._apply(records)
                refused = [(records[o.index].sha256, records[o.index].text,
                            o.error or "refused", records[o.index].receipt)
                           for o in result.outcomes if o.status == "rejected"]
                if refused:
                    # Validated before it was spooled, so only the database refused it: set it
                    # aside (durably, before the offset moves) and go on with the rest.
                    log.error("%d spooled events refused; kept as dead letters: %s",
                              len(refused), "; ".join(r[2] for r in refused)[:1000])
                    self.dead_letters.add(refused)
                    METRICS.dead_lettered.inc(len(refused))
                self.spool.commit(pending)
                done.add(result)
                METRICS.count_outcomes(result.outcomes)
                if progress is not None:
                    progress(done)

    def _apply(self, records: list[SpooledEvent]) -> BatchResult:
        """Write spooled records. A chunk whose write times out, or keeps failing as if Neo4j
        were unavailable while Neo4j answers (a transaction too large for its memory pool), is
        retried one event at a time, and an event that still fails alone is refused (a dead
        letter), never retried forever. While Neo4j does not answer, the error propagates and
        the drain stops (nothing is set aside)."""
        raws = [_raw(e.text) for e in records]
        # The receipt taken when the event arrived (drain time for records spooled before
        # receipts were kept).
        receipts = [e.receipt or Receipt.now() for e in records]
        try:
            return self.ingest.ingest_raw(raws, receipts)
        except (QueryTimeoutError, TransactionTooLargeError) as exc:
            log.warning("a spooled chunk of %d failed (%s); applying it event by event",
                        len(raws), exc)
        except Neo4jUnavailableError:
            if not self.db.ping():
                raise
            log.warning("a spooled chunk of %d keeps failing while Neo4j answers; applying it "
                        "event by event", len(raws))
        outcomes: list[EventOutcome] = []
        for index, raw in enumerate(raws):
            try:
                [outcome] = self.ingest.ingest_raw([raw], receipts[index]).outcomes
            except (QueryTimeoutError, TransactionTooLargeError) as exc:
                outcome = EventOutcome(0, "rejected", error=str(exc))
            except Neo4jUnavailableError as exc:
                if not self.db.ping():
                    raise
                outcome = EventOutcome(0, "rejected", error=f"{exc} (while Neo4j answered)")
            outcome.index = index
            outcomes.append(outcome)
        return BatchResult(outcomes)


def _raw(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), text
    except (ValueError, RecursionError) as exc:
        return UnparseableEvent(f"spooled text is not JSON ({exc})"), None


def _backoff(wait: float) -> float:
    """The next wait while Neo4j stays down: 1 s, doubling, at most 30 s."""
    return min(max(wait * 2, 1.0), 30.0)


class SpoolDrainer:
    """Background thread: applies the schema if start-up could not, and drains the spool
    whenever it holds records and Neo4j answers, backing off (1 s doubling to 30 s) while
    Neo4j stays down."""

    def __init__(self, durable: DurableIngest, interval: float = 1.0) -> None:
        self.durable = durable
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="spool-drain", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            if not self.durable.schema_ready:
                # Start-up found Neo4j down: apply the schema as soon as it answers, not at the
                # first write, since reads rely on its indexes (index hints).
                try:
                    self.durable.ensure_schema()
                    log.info("schema applied: Neo4j answers again")
                except Neo4jUnavailableError:  # start-up already said Neo4j is down
                    wait = _backoff(wait)
                    continue
                except Exception:  # keep trying later; never kill the thread
                    log.exception("schema could not be applied")
                    wait = _backoff(wait)
                    continue
            spool = self.durable.spool
            if not spool.has_pending():
                wait = self.interval
                continue
            try:
                drained = self.durable.drain(wait=False)
                if drained is not None:  # else `lineage-graph spool drain` is at it
                    log.info("spool drained: %d applied, %d duplicates, %d rejected",
                             drained.applied, drained.duplicates, drained.rejected)
                wait = self.interval
            except Neo4jUnavailableError:
                wait = _backoff(wait)
            except Exception:  # keep draining later; never kill the thread
                log.exception("spool drain failed")
                wait = _backoff(wait)
