"""Kafka benchmark: events/s through `lineage-graph consume` with one and with two consumers of
one group, next to the batch endpoint's, on the same events in one run.

    python benchmarks/kafka.py [--runs 1500] [--batch-size 100] [--quick]

Runs against the managed Neo4j instance "bench" (Bolt 7689) or NEO4J_URI, and the managed
Kafka broker of that instance (ports 9292/9293 unless LINEAGE_GRAPH_KAFKA_PORT and
_CONTROLLER_PORT say otherwise); the database is WIPED before each phase. The events are
benchmarks/ingest.py's (each run START and COMPLETE, 3 inputs, 2 outputs, schema, column
lineage, parent and sql facets).

- batch endpoint: one `serve` process, one sender posting batches of --batch-size;
- Kafka: the consumers (`consume` processes, polls of --batch-size messages, one write
  transaction each) start on an empty topic of four partitions and join their group; then the
  events are produced (keyed by job, as openlineage-python's transport keys them) and the clock
  runs until the last event is recorded in Neo4j. Producing takes well under a second.

A warm-up of each kind first (not counted), then each setting twice, alternating; the figure
is the mean. The last line printed is one JSON object:
``{"benchmark": "kafka", "batch_endpoint": ..., "one_consumer": ..., "two_consumers": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.ingest import alternate, bench_neo4j, generate_events, machine_line, runs_text, wipe
from lineage_graph.db.connection import Database, resolve_password
from lineage_graph.db.migrations import migrate
from lineage_graph.kafka_broker import ManagedKafka
from lineage_graph.settings import Settings
from tests.kafka_support import group_members
from tests.serving import served_api


def recorded(db: Database) -> int:
    with db.driver.session(database=db.name) as session:
        return int(session.run("MATCH (e:Event {recordType: 'openlineage'}) "
                               "RETURN count(e) AS n").single(strict=True)["n"])


def batch_endpoint(settings: Settings, db: Database, events: list[dict[str, Any]],
                   batch_size: int) -> float:
    wipe(db)
    with served_api(settings) as url, httpx.Client(base_url=url, timeout=600) as client:
        started = time.perf_counter()
        for i in range(0, len(events), batch_size):
            answer = client.post("/api/v1/lineage/batch", json=events[i:i + batch_size])
            if answer.status_code != 200:
                raise SystemExit(f"refused: {answer.status_code} {answer.text[:200]}")
        return len(events) / (time.perf_counter() - started)


def consumers(settings: Settings, servers: str, db: Database, events: list[dict[str, Any]],
              n: int, batch_size: int) -> float:
    wipe(db)
    topic, group = f"bench.{uuid.uuid4().hex[:12]}", f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": servers})
    for future in admin.create_topics([NewTopic(topic, 4, 1)]).values():
        future.result(30)
    env = dict(os.environ, NEO4J_URI=settings.bolt_uri, NEO4J_USER=settings.neo4j_user,
               NEO4J_PASSWORD=resolve_password(settings), NEO4J_DATABASE=settings.neo4j_database)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "lineage_graph", "consume", "--bootstrap-servers", servers,
         "--topic", topic, "--group", group, "--batch", str(batch_size)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        deadline = time.monotonic() + 120
        while group_members(servers, group) < n:
            if time.monotonic() > deadline:
                raise SystemExit("the consumers did not join their group")
            time.sleep(0.2)
        payloads = [(f"run:{e['job']['namespace']}/{e['job']['name']}".encode(),
                     json.dumps(e).encode()) for e in events]
        producer = Producer({"bootstrap.servers": servers, "linger.ms": 5})
        started = time.perf_counter()
        for key, value in payloads:
            producer.produce(topic, value=value, key=key)
            producer.poll(0)
        producer.flush(60)
        while recorded(db) < len(events):
            if time.perf_counter() - started > 600:
                raise SystemExit("the consumers did not record every event within 600 s")
            time.sleep(0.05)
        return len(events) / (time.perf_counter() - started)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1500, help="runs (2 events each)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="500 runs: about a minute")
    args = parser.parse_args()
    if args.quick:
        args.runs = 500
    settings = bench_neo4j()
    kafka_settings = replace(
        settings, kafka_port=int(os.environ.get("LINEAGE_GRAPH_KAFKA_PORT", "9292")),
        kafka_controller_port=int(os.environ.get("LINEAGE_GRAPH_KAFKA_CONTROLLER_PORT", "9293")))
    servers = ManagedKafka(kafka_settings).up().bootstrap_servers
    events = generate_events(args.runs)
    print(f"{machine_line(settings)}, Kafka {kafka_settings.kafka_version} at {servers}")
    print(f"workload: {len(events)} events; batches and polls of {args.batch_size}")
    with Database(settings) as db:
        migrate(db)
        # Warm-up (JIT, page cache), not counted.
        consumers(settings, servers, db, events[:400], 1, args.batch_size)
        batch_endpoint(settings, db, events[:400], args.batch_size)
        runs = alternate({
            "batch": lambda: batch_endpoint(settings, db, events, args.batch_size),
            "one": lambda: consumers(settings, servers, db, events, 1, args.batch_size),
            "two": lambda: consumers(settings, servers, db, events, 2, args.batch_size)})
    batch, one, two = (sum(runs[k]) / len(runs[k]) for k in ("batch", "one", "two"))
    print(f"  batch endpoint:  {batch:8.1f} events/s  (runs: {runs_text(runs['batch'])})")
    print(f"  1 consumer:      {one:8.1f} events/s  (runs: {runs_text(runs['one'])}; "
          f"{one / batch:.2f} of the batch endpoint)")
    print(f"  2 consumers:     {two:8.1f} events/s  (runs: {runs_text(runs['two'])}; "
          f"{two / batch:.2f} of the batch endpoint)")
    print(json.dumps({"benchmark": "kafka", "batch_endpoint": round(batch, 1),
                      "one_consumer": round(one, 1), "two_consumers": round(two, 1)}))


if __name__ == "__main__":
    main()
