"""Ingestion under heavy GraphQL load: single-event POST latency while 3 clients each send a
query of 10 aliased `verifyLedger` fields in a loop over a 3,200-record ledger, next to the same
POSTs without load, measured in one run against `lineage-graph serve` in its own process.

    python benchmarks/starvation.py [--records 3200] [--posts 60] [--clients 3]

Requirement (issue 11): under that load, single-event POSTs keep answering in under 2 s.
Runs against the managed "bench" Neo4j (Bolt 7689), or NEO4J_URI; the database is WIPED.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks.ingest import bench_neo4j, wipe
from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.ingest.service import IngestService
from tests.events import T0, ds, new_run_id, run_event
from tests.serving import served_api

VERIFY = "{ " + " ".join(f"v{i}: verifyLedger {{ ok checked }}" for i in range(10)) + " }"


def _event(i: int) -> dict[str, Any]:
    return run_event("COMPLETE", new_run_id(), ("spark", f"job_{i % 50}"), T0,
                     inputs=[ds("s3://lake", f"in_{i % 20}", ["id", "value"])],
                     outputs=[ds("s3://lake", f"out_{i % 40}", ["id", "value"])])


def _post_latencies(url: str, count: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for i in range(count):
            start = time.perf_counter()
            response = client.post("/api/v1/lineage", json=_event(i))
            latencies.append(time.perf_counter() - start)
            if response.status_code != 201:
                raise SystemExit(f"POST answered {response.status_code}: {response.text}")
    return latencies


class VerifyLoad:
    """``clients`` threads, each sending the 10-alias verifyLedger query back to back."""

    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.stop = threading.Event()
        self.done = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(clients)]

    def _loop(self) -> None:
        with httpx.Client(base_url=self.url, timeout=300) as client:
            while not self.stop.is_set():
                body = client.post("/graphql", json={"query": VERIFY}).json()
                with self.lock:
                    if "errors" in body or not all(r["ok"] for r in body["data"].values()):
                        self.errors.append(str(body)[:200])
                    self.done += 1

    def __enter__(self) -> VerifyLoad:
        for thread in self.threads:
            thread.start()
        time.sleep(2)  # let the verifications get going
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=300)


def _summary(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered), p95, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=3200)
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()

    settings = bench_neo4j()
    with Database(settings) as db:
        migrate(db)
        wipe(db)
        IngestService(db).ingest_raw([(_event(i), None) for i in range(args.records)])
    print(f"ledger: {args.records} records; load: {args.clients} clients x 10 aliased "
          f"verifyLedger, back to back; {args.posts} single-event POSTs per phase")
    with served_api(settings) as url:
        quiet = _post_latencies(url, args.posts)
        with VerifyLoad(url, args.clients) as load:
            loaded = _post_latencies(url, args.posts)
            load_requests = load.done
        if load.errors:
            raise SystemExit(f"verifyLedger failed under load: {load.errors[:3]}")
    q50, q95, qmax = _summary(quiet)
    l50, l95, lmax = _summary(loaded)
    print(f"{'phase':<22}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    print(f"{'POST, no load':<22}{q50 * 1000:>10.1f}{q95 * 1000:>10.1f}{qmax * 1000:>10.1f}")
    print(f"{'POST, verify load':<22}{l50 * 1000:>10.1f}{l95 * 1000:>10.1f}{lmax * 1000:>10.1f}")
    print(f"ratio loaded/quiet: p50 {l50 / q50:.1f}x, p95 {l95 / q95:.1f}x; verification "
          f"requests completed during the loaded phase: {load_requests}")
    print(f"requirement (slowest POST under load < 2 s): "
          f"{'met' if lmax < 2.0 else 'NOT met'} ({lmax:.2f} s)")


if __name__ == "__main__":
    main()
