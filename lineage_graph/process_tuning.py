"""What a long-running process (``serve``, ``demo``, ``consume``, ``ingest``, ``import`` into
Neo4j, ``spool drain``) tunes in its interpreter once its start-up is done: Python's garbage
collector (gc_tuning.py) and how soon a thread waiting for the GIL gets it.

Ingestion validates the next chunk of events on one thread while another waits for Neo4j to
write the previous one. When Neo4j answers, the waiting thread needs the GIL to read the answer
and send the next statement, and Python makes the running thread hand it over only every
*switch interval*, 5 ms by default: up to 5 ms of Neo4j idling per round trip, several per
chunk. At 0.5 ms, batch ingest in process ran at 1,050 events/s (median of 4 runs) against
957 with Python's interval, served batches 1,137 against 948, and single POSTs under a heavy
GraphQL load answered at p50 in 16 ms against 25-28 (docs/benchmarks.md#thread-switching). The
price: CPU-bound threads (ledger verification's hashing) yield more often and finish a little
less work. A lone busy thread is not slowed: nothing waits for it.
"""

from __future__ import annotations

import sys

import lineage_graph.gc_tuning as gc_tuning
from lineage_graph.settings import Settings


def tune_switch_interval(microseconds: int) -> bool:
    """Make a running thread hand the GIL to a waiting one after ``microseconds`` (0 or less:
    leave Python's interval). True when it tuned."""
    if microseconds <= 0:
        return False
    sys.setswitchinterval(microseconds / 1_000_000)
    return True


def tune_process(settings: Settings) -> bool:
    """Tune the thread switch interval and the garbage collector as ``settings`` say; True when
    the collector was tuned (what start-up logs)."""
    tune_switch_interval(settings.thread_switch_interval_us)
    return gc_tuning.tune_collector(settings.gc_young_threshold)
