"""Keep the write statement's plan fresh without making writers wait.

Writers run the write statement with the plan Neo4j cached (never replanning it under the
sequence lock: see ``lineage_writes.RECORD_AND_APPLY``). This thread replans it on current
statistics at start, before the first write needs it, and then every minute, so plans follow
the graph as it grows while no writer ever pays for planning. A replan costs Neo4j about a
second of one core.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from lineage_graph.db import lineage_writes
from lineage_graph.db.connection import Database
from lineage_graph.errors import Neo4jUnavailableError

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 60.0


class WritePlanRefresher:
    """A daemon thread replanning the write statement at start and every ``interval`` seconds;
    a context manager (start, stop)."""

    def __init__(self, db: Database, interval: float = REFRESH_EVERY_S) -> None:
        self.db = db
        self.interval = interval
        self.refreshes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="write-plan-refresh",
                                         daemon=True)

    def refresh(self) -> bool:
        """Replan now; False when Neo4j does not answer (writers still have the cached plan,
        or plan once themselves)."""
        try:
            self.db.write(lineage_writes.refresh_write_plan)
        except Neo4jUnavailableError:
            return False
        self.refreshes += 1
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def __enter__(self) -> WritePlanRefresher:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _loop(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            try:
                # Neo4j down: try again sooner, so the plan is ready when it answers again.
                wait = self.interval if self.refresh() else min(self.interval, 5.0)
            except Exception as exc:  # never kill the thread: writers still work, only slower
                # (e.g. the schema's indexes, which the statement's hints name, not made yet)
                log.warning("the write statement could not be replanned: %s", exc)
                wait = self.interval
