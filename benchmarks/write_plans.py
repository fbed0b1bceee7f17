"""Write-plan benchmark: what Neo4j's plan cache costs the write path.

    python benchmarks/write_plans.py [--quick]

Neo4j caches a plan per statement text *and per parameter types and sizes*. The write path
sends every row list inside one map parameter (``$batch``), so its statement is planned once;
sent as separate list parameters (as before), each new combination of empty and non-empty
lists, or of list sizes, planned the whole statement again, about a second on this machine,
while the writer held the sequence lock and every other writer waited.

Against the managed "bench" Neo4j (or NEO4J_URI; nothing is kept: every write is rolled back),
with the query caches cleared first, the same batches are written both ways: one event of a
pipeline, one event of another shape, 50 and 600 events, and one of every row kind. It prints
each write's time (the first of a new cache entry includes its planning). The last line:
``{"benchmark": "write_plans", "one_map_ms": ..., "separate_lists_ms": ..., "ratio": ...}``
(the sum over the batches; ratio: one map over separate lists).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, LiteralString, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import bench_neo4j, generate_events, machine_line
from lineage_graph.db import lineage_writes as w
from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.ingest.plan import WritePlan
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.openlineage.parse import parse_event
from tests.events import every_row_kind, pipeline

# The write statement as it was: each row list its own parameter (for comparison only).
SEPARATE_LISTS = cast(LiteralString, re.sub(r"\$batch\.(\w+)", r"$\1", w.APPLY_PLAN))


def rows(events: list[dict[str, Any]]) -> dict[str, Any]:
    plan = WritePlan()
    for event in events:
        plan.add(parse_event(event), Receipt.now())
    return {key: value for key, value in plan.parameters().items() if key in w.PLAN_KEYS}


def timed_writes(db: Database, batches: list[tuple[str, dict[str, Any]]],
                 one_map: bool) -> list[tuple[str, float]]:
    found = []
    with db.driver.session(database=db.name) as session:
        session.run("CALL db.clearQueryCaches()").consume()
        for name, batch in batches:
            tx = session.begin_transaction()
            started = time.perf_counter()
            if one_map:
                tx.run(w.APPLY_PLAN, batch=batch).consume()
            else:
                tx.run(SEPARATE_LISTS, batch).consume()
            found.append((name, (time.perf_counter() - started) * 1000))
            tx.rollback()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the same: it takes ~30 s")
    parser.parse_args()
    settings = bench_neo4j()
    print(machine_line(settings))
    batches = [("1 event", rows(generate_events(1)[:1])),
               ("1 event again", rows(generate_events(1)[:1])),
               ("1 event, other shape", rows(pipeline(1)[:1])),
               ("50 events", rows(generate_events(25))),
               ("600 events", rows(generate_events(300))),
               ("every row kind", rows(every_row_kind())),
               ("50 events again", rows(generate_events(25)))]
    with Database(settings) as db:
        migrate(db)
        separate = timed_writes(db, batches, one_map=False)
        one_map = timed_writes(db, batches, one_map=True)
    print(f"  {'batch':<22} {'separate lists':>15} {'one map':>9}   (ms; caches cleared first)")
    for (name, a), (_, b) in zip(separate, one_map, strict=True):
        print(f"  {name:<22} {a:15.0f} {b:9.0f}")
    total_separate = sum(ms for _, ms in separate)
    total_map = sum(ms for _, ms in one_map)
    print(f"  {'total':<22} {total_separate:15.0f} {total_map:9.0f}")
    print(json.dumps({"benchmark": "write_plans", "one_map_ms": round(total_map),
                      "separate_lists_ms": round(total_separate),
                      "ratio": round(total_map / total_separate, 3)}))


if __name__ == "__main__":
    main()
