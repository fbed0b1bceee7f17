"""Python's cyclic garbage collector, tuned for a long-running ingesting process.

Parsing an event makes hundreds of dicts, lists and models, so with Python's default threshold
(a young collection every 700 container allocations) collections run all the time, and each
older collection walks every object the process holds: the modules, the GraphQL schema and the
app, about 180,000 objects after start-up. Measured on this project's batch ingest (2,500 runs,
500 events a batch, in process, 2-core machine; docs/benchmarks.md#garbage-collection):
validation took 1.75-2.18 s of a 6.8 s run with the defaults and 0.91 s with the collector off.

So a process that owns its lifetime (``serve``, ``demo``, ``consume``, ``ingest``, ``import``
into Neo4j, ``spool drain``) calls :func:`tune_collector` once its start-up is done (through
``process_tuning.tune_process``, which also sets the thread switch interval): it collects
once, freezes what start-up built (``gc.freeze``: those objects are never walked again) and
raises the young generation's threshold. Cyclic garbage is still collected, a few
thousand allocations later.
Tests and library use leave the collector alone (freezing there would keep each test's app
alive for good).
"""

from __future__ import annotations

import gc


def tune_collector(young_threshold: int) -> bool:
    """Freeze what exists now and collect the young generation every ``young_threshold``
    allocations (0 or less: leave the collector as Python sets it). True when it tuned."""
    if young_threshold <= 0:
        return False
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
    return True
