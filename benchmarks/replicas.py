"""Replicas benchmark: batch ingestion through one `serve` process, then through two on the
same Neo4j, with the same two senders and the same events, measured in one run.

    python benchmarks/replicas.py [--runs 1000] [--batch-size 250] [--quick]

Runs against the managed instance "bench" (Bolt 7689) or NEO4J_URI; the database is WIPED
before each phase. Both phases send the same events (benchmarks/ingest.py's: each run START and
COMPLETE, 3 inputs, 2 outputs, schema, column lineage, parent and sql facets) as batches from
two sender threads: to one API, then one sender per API; after a warm-up, each setting twice,
alternating, and the mean of the two. Every write takes the ledger's
sequence lock, so a second replica adds request handling and Python work, not write capacity
(docs/scaling.md). The last line printed is one JSON object:
``{"benchmark": "replicas", "one_api": ..., "two_apis": ..., "ratio": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks.ingest import alternate, bench_neo4j, generate_events, machine_line, runs_text, wipe
from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.settings import Settings
from tests.serving import served_api


def send(url: str, batches: list[list[dict[str, Any]]], errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=600) as client:
        for batch in batches:
            answer = client.post("/api/v1/lineage/batch", json=batch)
            if answer.status_code != 200:
                errors.append(f"{url}: {answer.status_code} {answer.text[:200]}")


def events_per_second(settings: Settings, db: Database, replicas: int,
                      batches: list[list[dict[str, Any]]]) -> float:
    """Two senders, each with half the batches, to `replicas` APIs (one each, or both to one)."""
    wipe(db)
    errors: list[str] = []
    with ExitStack() as stack:
        urls = [stack.enter_context(served_api(settings)) for _ in range(replicas)]
        halves = [batches[0::2], batches[1::2]]
        senders = [threading.Thread(target=send, args=(urls[i % replicas], halves[i], errors))
                   for i in range(2)]
        started = time.perf_counter()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit("refused: " + "; ".join(errors[:3]))
    return sum(len(b) for b in batches) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs (2 events each)")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--quick", action="store_true", help="250 runs: about a minute")
    args = parser.parse_args()
    if args.quick:
        args.runs = 250
    settings = bench_neo4j()
    events = generate_events(args.runs)
    batches = [events[i:i + args.batch_size] for i in range(0, len(events), args.batch_size)]
    print(machine_line(settings))
    print(f"workload: {len(events)} events in batches of {args.batch_size}, two senders")
    with Database(settings) as db:
        migrate(db)
        # Warm-up (JIT, page cache), not counted.
        events_per_second(settings, db, 1, batches[: max(1, len(batches) // 4)])
        runs = alternate({"one": lambda: events_per_second(settings, db, 1, batches),
                          "two": lambda: events_per_second(settings, db, 2, batches)})
    one, two = (sum(runs[k]) / len(runs[k]) for k in ("one", "two"))
    print(f"  one API:  {one:8.1f} events/s  (runs: {runs_text(runs['one'])})")
    print(f" two APIs:  {two:8.1f} events/s  (runs: {runs_text(runs['two'])})")
    print(f"    ratio:  {two / one:8.2f} (two replicas over one)")
    print(json.dumps({"benchmark": "replicas", "one_api": round(one, 1),
                      "two_apis": round(two, 1), "ratio": round(two / one, 2)}))


if __name__ == "__main__":
    main()
