"""Soak: a bounded load with faults injected, counting what was sent, acknowledged, present and
duplicated.

    python benchmarks/soak.py [--events 3000] [--emitters 4]

Loopback only: runs `lineage-graph serve` in its own process against the managed "bench" Neo4j
(Bolt 7689; the database is WIPED), with its own spool. Emitters send single events and batches
of 20 concurrently while the harness injects, in order: Neo4j stopped for a while, the API
SIGKILLed, a torn spool record (a write cut short, as a crash or a full disk leaves it) and a
poison event (spooled by an older version, refused now: an integer beyond int64) appended to the
spool, the API restarted (Neo4j still down), Neo4j started again. Then it waits for the spool to
drain and counts:

- sent: events the emitters tried to send;
- acknowledged: answered 201/200 (committed) or 202 (spooled);
- present: acknowledged events found in the event record;
- lost = acknowledged - present (must be 0); duplicated = records sharing a sha256 (must be 0);
- quarantined (the torn record: must be 1) and dead letters (the poison event: must be 1),
  neither of which blocked the drain.
Events whose request died with the API were not acknowledged: they may or may not be present.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks.ingest import bench_settings, wipe
from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.ingest.dead_letters import DeadLetters
from lineage_graph.ingest.spool import Spool
from lineage_graph.neo4j_server import ManagedNeo4j
from tests.events import T0, ds, new_run_id, run_event
from tests.serving import api_process


class Load:
    """Emitters sending to whichever API process is current; they retry what was not
    acknowledged, as OpenLineage emitters with a retrying transport do."""

    def __init__(self, total: int, emitters: int) -> None:
        self.queue = [run_event("COMPLETE", new_run_id(), ("soak", f"job_{i % 17}"), T0,
                                inputs=[ds("s3://soak", f"in_{i % 11}", ["id"])],
                                outputs=[ds("s3://soak", f"out_{i % 13}", ["id"])])
                      for i in range(total)]
        self.emitters = emitters
        self.url = ""
        self.acknowledged: dict[str, int] = {}
        self.sent = 0
        self.retries = 0
        self.lock = threading.Lock()
        self.cursor = 0

    def take(self, n: int) -> list[dict[str, Any]]:
        with self.lock:
            batch = self.queue[self.cursor:self.cursor + n]
            self.cursor += len(batch)
            self.sent += len(batch)
            return batch

    def run(self, worker: int) -> None:
        client = httpx.Client(timeout=60)
        while True:
            batch = self.take(20 if worker % 2 else 1)
            if not batch:
                return
            while not self._send(client, batch):
                with self.lock:
                    self.retries += 1
                time.sleep(0.5)

    def _send(self, client: httpx.Client, batch: list[dict[str, Any]]) -> bool:
        try:
            if len(batch) == 1:
                response = client.post(f"{self.url}/api/v1/lineage", json=batch[0])
                ok = response.status_code in (201, 202)
                results = [response.json()] if ok else []
            else:
                response = client.post(f"{self.url}/api/v1/lineage/batch", json=batch)
                ok = response.status_code in (200, 202)
                results = response.json()["results"] if ok else []
        except httpx.HTTPError:
            return False
        if not ok:
            return False
        with self.lock:
            for result in results:
                if result["status"] in ("accepted", "duplicate", "spooled"):
                    self.acknowledged[result["sha256"]] = response.status_code
        return True


def _inject_poison_and_torn_record(spool_dir: Path) -> None:
    """What a crash mid-write leaves (a record without its end), followed by an event an older
    version accepted and spooled but that the database cannot store (ordinalPosition > int64).
    """
    poison = run_event("COMPLETE", new_run_id(), ("soak", "poison"), T0,
                       outputs=[ds("s3://soak", "poisoned", ["id"])])
    poison["outputs"][0]["facets"]["schema"]["fields"][0]["ordinalPosition"] = 2**64
    text = json.dumps(poison)
    with open(spool_dir / "events.ndjson", "ab") as fh:  # torn first, a record after it
        fh.write(b'{"sha256": "torn", "text": "{\\"eventType\\": \\"COMP')
    Spool(spool_dir).append([(hashlib.sha256(text.encode()).hexdigest(), text)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--emitters", type=int, default=4)
    args = parser.parse_args()
    settings = bench_settings()
    if not settings.managed:
        sys.exit("soak stops and starts Neo4j: it needs the managed bench instance (no NEO4J_URI)")
    server = ManagedNeo4j(settings)
    server.up()
    with Database(settings) as db:
        migrate(db)
        wipe(db)
    workdir = Path(tempfile.mkdtemp(prefix="lineage-graph-soak-"))
    spool, log = workdir / "spool", workdir / "api.log"
    load = Load(args.events, args.emitters)
    start = time.perf_counter()
    faults: list[str] = []
    api = api_process(settings, spool, log)
    proc = api.__enter__()
    load.url = proc.url  # type: ignore[attr-defined]
    threads = [threading.Thread(target=load.run, args=(w,)) for w in range(args.emitters)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(8)  # committed traffic first
        server.down()
        faults.append(f"{time.perf_counter() - start:5.1f} s  Neo4j stopped")
        time.sleep(3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        faults.append(f"{time.perf_counter() - start:5.1f} s  API SIGKILLed")
        _inject_poison_and_torn_record(spool)
        faults.append(f"{time.perf_counter() - start:5.1f} s  poison event and torn record "
                      "appended to the spool")
        api = api_process(settings, spool, log)
        proc = api.__enter__()
        load.url = proc.url  # type: ignore[attr-defined]
        faults.append(f"{time.perf_counter() - start:5.1f} s  API restarted (Neo4j down)")
        time.sleep(3)
        server.up(progress=False)
        faults.append(f"{time.perf_counter() - start:5.1f} s  Neo4j started")
        for thread in threads:
            thread.join()
        while True:
            health = httpx.get(f"{load.url}/healthz", timeout=30)
            if health.status_code == 200 and health.json()["spool"]["depth"] == 0:
                dead_letters = health.json()["spool"]["deadLetters"]
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
    finally:
        api.__exit__(None, None, None)
    with Database(settings) as db:
        rows = db.read(lambda tx: [r.data() for r in tx.run(
            "MATCH (e:Event) RETURN e.sha256 AS sha")])
    shas = [r["sha"] for r in rows]
    present = set(shas) & set(load.acknowledged)
    print(f"machine: {os.cpu_count()} cores; {args.emitters} emitters (singles and batches of 20)")
    for fault in faults:
        print(f"  {fault}")
    spooled = sum(1 for code in load.acknowledged.values() if code == 202)
    print(f"sent {load.sent}, acknowledged {len(load.acknowledged)} ({spooled} spooled, 202), "
          f"re-sent after no answer {load.retries} times")
    print(f"present {len(present)}, lost {len(load.acknowledged) - len(present)}, "
          f"duplicated {len(shas) - len(set(shas))}, records {len(shas)}")
    quarantined = len(Spool(spool).quarantined())
    poison = [d.id for d in DeadLetters(spool).list()]
    print(f"quarantined {quarantined} (expected 1: the torn record), dead letters "
          f"{dead_letters} (expected 1: the poison event{'' if poison else ', missing'}), "
          "drain not blocked")
    print(f"done in {elapsed:.1f} s ({load.sent / elapsed:.0f} events/s including the outage)")
    print(f"(API log: {log})")


if __name__ == "__main__":
    main()
