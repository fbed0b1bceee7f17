"""Keep the write statement's plan fresh without making writers wait.

Writers run the write statement with the plan Neo4j cached (never replanning it under the
sequence lock: see ``lineage_writes.RECORD_AND_APPLY``). This thread makes sure a plan is
cached at start, before the first write needs it (planned outside the lock when Neo4j has none
or deems it stale), and replans it on current statistics whenever the record has grown
enough for the statistics to have drifted (checked every minute), so plans follow the graph
while no writer ever pays for planning. A replan costs Neo4j about a second of one core, which
on a small machine slows the reads running meanwhile: a graph that does not grow is not
replanned at all.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from lineage_graph.db import event_records, lineage_writes
from lineage_graph.db.connection import Database
from lineage_graph.errors import Neo4jUnavailableError

log = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0
# How long stop() waits for a replan in flight (the driver's own retries last 15 s by default).
STOP_WAIT_S = 30.0
# Replan once the record holds a quarter more records than at the last replan, and at least
# this many more: Neo4j's own threshold (statistics 75 % off, decaying with time) replanned a
# growing graph a few times a minute.
GROWTH_FACTOR = 1.25
MIN_NEW_RECORDS = 500


class WritePlanRefresher:
    """A daemon thread replanning the write statement at start (after ``first_check_after``
    seconds) and, checked every ``interval`` seconds, once the record has grown by
    ``GROWTH_FACTOR`` and at least ``min_new_records``; a context manager (start, stop)."""

    def __init__(self, db: Database, interval: float = CHECK_EVERY_S,
                 min_new_records: int = MIN_NEW_RECORDS, first_check_after: float = 0.0) -> None:
        self.db = db
        self.interval = interval
        # A server checks at once (its first writes should find a plan); see for_command.
        self.first_check_after = first_check_after
        self.min_new_records = min_new_records
        self.refreshes = 0
        self._planned_at: int | None = None  # records in the record at the last replan
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="write-plan-refresh",
                                        daemon=True)

    @classmethod
    def for_command(cls, db: Database) -> WritePlanRefresher:
        """For a command-line writer (ingest, import, spool drain): first checks after an
        interval, so a short run costs no replan and a long import still follows its graph."""
        return cls(db, first_check_after=CHECK_EVERY_S)

    def refresh(self, force: bool = True) -> bool:
        """Replan now (``force``), or only make sure a plan is cached; False when Neo4j does
        not answer (writers still have the cached plan, or plan once themselves)."""
        try:
            records = self._records()
            self.db.write(lambda tx: lineage_writes.refresh_write_plan(tx, force))
        except Neo4jUnavailableError:
            return False
        self._planned_at = records
        self.refreshes += 1
        return True

    def refresh_if_grown(self) -> bool:
        """The first time, make sure a plan is cached (Neo4j plans it if it has none or deems
        it stale; a cache hit otherwise: a server restarted against a running Neo4j costs no
        replan); then replan once the record has grown enough (or shrunk: emptied or restored).
        Whether it planned."""
        try:
            records = self._records()
        except Neo4jUnavailableError:
            return False
        last = self._planned_at
        if last is None:
            return self.refresh(force=False)
        # A record smaller than at the last replan was emptied or restored: a new graph.
        if last <= records < max(last * GROWTH_FACTOR, last + self.min_new_records):
            return False
        return self.refresh()

    def _records(self) -> int:
        head = self.db.read(event_records.sequence_head) or {}
        return int(head.get("value") or 0)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop checking, once a replan in flight has returned (about a second; at most
        STOP_WAIT_S, when Neo4j does not answer): the caller closes the driver next, and
        closing it under a statement in flight tore the connection that statement used (a
        BufferError in the closing thread, failing the API's shutdown)."""
        self._stop.set()
        self._thread.join(timeout=STOP_WAIT_S)

    def __enter__(self) -> WritePlanRefresher:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _loop(self) -> None:
        wait = self.first_check_after
        while not self._stop.wait(wait):
            try:
                self.refresh_if_grown()
            except Exception as exc:  # never kill the thread: writers still work, only slower
                # (e.g. the schema's indexes, which the statement's hints name, not made yet)
                if not self._stop.is_set():  # else: shut down after stop() gave up waiting
                    log.warning("the write statement could not be replanned: %s", exc)
            # Never planned (Neo4j down at start): try again sooner.
            wait = self.interval if self._planned_at is not None else min(self.interval, 5.0)
