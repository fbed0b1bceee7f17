"""Ingest benchmark: events/s through single POSTs, the batch endpoint and raw UNWIND Cypher.

    python benchmarks/ingest.py [--runs 1000] [--single 400] [--batch-size 500]
                                [--senders 8] [--concurrent-events 4000] [--rounds 1] [--quick]

Runs against a real Neo4j: the managed instance "bench" (Bolt 7689, separate from `make run`'s
and the tests') or NEO4J_URI. The database is WIPED between phases. Events are realistic: each
run has a parent run, START and COMPLETE events, 3 inputs and 2 outputs with schema facets, and
column lineage on every output.

Two ceilings are measured on the same Neo4j in the same run, each writing the same nodes and
relationships (the event record's nodes included) with plain MERGE/CREATE ... UNWIND Cypher
and nothing else (no validation, no merge rules, no version resolution):
- per-event raw: one transaction per event, the ceiling for single POSTs;
- batched raw: one transaction per batch, the ceiling for the batch endpoint.

Every phase first writes the same warm-up events (an eighth of --single), not timed, the way it
then measures: figures are steady state (a freshly started Neo4j runs its first phase with a
cold JIT, and each phase's API is a new process). With --rounds N the five phases run N times,
taking turns: figures are each phase's median, ratios the median of each round's ratio, so a
slow spell of this machine (the per-event ceiling has measured 78 and 353 events/s on the same
code) falls on both sides of a ratio.

A last phase POSTs --concurrent-events single events from --senders threads at once (throughput,
per-request p50/p99/max after warm-up, the API's RSS before and after). It also reports the
managed instance's store and transaction-log sizes. The last line printed is
one JSON object: ``{"benchmark": "ingest", "single_ratio": ..., "batch_ratio": ...}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, LiteralString
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.ingest.plan import WritePlan
from lineage_graph.ingest.service import IngestService, PreparedWrite
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.neo4j_server import managed_disk_usage
from lineage_graph.openlineage.parse import parse_event
from lineage_graph.settings import Settings
from tests.events import T0, ds, facet, new_run_id, run_event
from tests.serving import served_api

# -- workload ---------------------------------------------------------------------------


def generate_events(n_runs: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    parent = new_run_id()
    tables = [f"warehouse.t{i:04d}" for i in range(max(10, n_runs // 2))]
    for i in range(n_runs):
        rid = new_run_id()
        job = ("spark", f"job_{i % max(5, n_runs // 10):04d}")
        ins = [ds("s3://lake", tables[(i + k) % len(tables)], ["id", "ts", "value"])
               for k in range(3)]
        outs = [ds("s3://lake", f"{tables[(i + 3 + k) % len(tables)]}_out{k}",
                   ["id", "ts", "value"],
                   lineage={c: [("s3://lake", ins[0]["name"], c), ("s3://lake", ins[1]["name"], c)]
                            for c in ("id", "ts", "value")})
                for k in range(2)]
        pf = {"parent": facet("ParentRunFacet", run={"runId": parent},
                              job={"namespace": "airflow", "name": "nightly"})}
        jf = {"sql": facet("SQLJobFacet", query=f"INSERT INTO t SELECT * FROM s{i}")}
        at = T0 + timedelta(minutes=i)
        events.append(run_event("START", rid, job, at, ins, outs, pf, jf))
        events.append(run_event("COMPLETE", rid, job, at + timedelta(seconds=30), ins, outs, pf,
                                jf))
    return events


# -- the raw ceiling ---------------------------------------------------------------------

RAW_STATEMENTS: list[tuple[str, LiteralString]] = [
    ("events", "UNWIND $events AS e CREATE (:Event {sha256: e.sha256, raw: e.raw, "
               "kind: e.kind, eventType: e.eventType, eventTime: datetime(e.eventTime), "
               "runId: e.runId})"),
    ("namespaces", "UNWIND $namespaces AS ns MERGE (n:Namespace {key: ns.key}) "
                   "SET n.name = ns.name"),
    ("jobs", "UNWIND $jobs AS r MERGE (j:Job:LineageNode {nodeId: r.nodeId}) "
             "SET j.namespace = r.namespace, j.name = r.name "
             "WITH j, r MATCH (ns:Namespace {key: r.namespaceKey}) MERGE (ns)-[:HAS_JOB]->(j)"),
    ("datasets", "UNWIND $datasets AS r MERGE (d:Dataset:LineageNode {nodeId: r.nodeId}) "
                 "SET d.namespace = r.namespace, d.name = r.name "
                 "WITH d, r MATCH (ns:Namespace {key: r.namespaceKey}) "
                 "MERGE (ns)-[:HAS_DATASET]->(d)"),
    ("runs", "UNWIND $runs AS r MERGE (n:Run:LineageNode {runId: r.runId}) "
             "SET n.nodeId = r.nodeId, n.state = r.state, "
             "n.startedAt = datetime(r.firstEventTime)"),
    ("runJobs", "UNWIND $runJobs AS r MATCH (j:Job {nodeId: r.jobId}), (n:Run {runId: r.runId}) "
                "MERGE (j)-[:HAS_RUN]->(n)"),
    ("parents", "UNWIND $parents AS r MATCH (c:Run {runId: r.child}), (p:Run {runId: r.parent}) "
                "MERGE (c)-[:CHILD_OF]->(p)"),
    ("jobReads", "UNWIND $jobReads AS r MATCH (j:Job {nodeId: r.jobId}), "
                 "(d:Dataset {nodeId: r.datasetId}) MERGE (j)-[:READS]->(d)"),
    ("jobWrites", "UNWIND $jobWrites AS r MATCH (j:Job {nodeId: r.jobId}), "
                  "(d:Dataset {nodeId: r.datasetId}) MERGE (j)-[:WRITES]->(d)"),
    ("versions", "UNWIND $versions AS r MERGE (v:DatasetVersion {nodeId: r.nodeId}) "
                 "SET v.version = r.version, v.createdAt = datetime(r.createdAt) "
                 "WITH v, r MATCH (d:Dataset {nodeId: r.datasetId}) MERGE (v)-[:VERSION_OF]->(d)"),
    ("runReads", "UNWIND $runReads AS r MATCH (n:Run {runId: r.runId}), "
                 "(d:Dataset {nodeId: r.datasetId}) MERGE (n)-[:READ]->(d)"),
    ("runWrites", "UNWIND $runWrites AS r MATCH (n:Run {runId: r.runId}), "
                  "(d:Dataset {nodeId: r.datasetId}), (v:DatasetVersion {nodeId: r.versionId}) "
                  "MERGE (n)-[:WROTE]->(d) MERGE (n)-[:WROTE_VERSION]->(v)"),
    ("facets", "UNWIND $facets AS r MATCH (o:LineageNode {nodeId: r.ownerId}) "
               "MERGE (f:Facet {facetId: r.facetId}) SET f.name = r.name, f.payload = r.payload "
               "MERGE (o)-[:HAS_FACET]->(f)"),
    ("fields", "UNWIND $fields AS r MATCH (d:Dataset {nodeId: r.datasetId}) "
               "MERGE (f:Field {fieldId: r.fieldId}) SET f.name = r.name, f.type = r.type "
               "MERGE (d)-[:HAS_FIELD]->(f)"),
    ("columnLineage", "UNWIND $columnLineage AS r MATCH (o:Field {fieldId: r.outFieldId}), "
                      "(i:Field {fieldId: r.inFieldId}) MERGE (o)-[:DERIVED_FROM]->(i)"),
]


# One round trip per transaction, like the platform's own write path.
RAW_QUERY: LiteralString = "\n".join(
    f"CALL () {{ {statement} }}" for _, statement in RAW_STATEMENTS
) + "\nRETURN 1"


def prepared_raw_writer(db: Database, events: list[dict[str, Any]]) -> Callable[[], None]:
    plan = WritePlan()
    for event in events:
        plan.add(parse_event(event))
    # The plan's field rows include the fields column lineage names (created before the
    # DERIVED_FROM merge, as the platform does).
    params: dict[str, Any] = dict(plan.parameters())
    values = {key: params[key] for key, _ in RAW_STATEMENTS}

    def work() -> None:
        db.write(lambda tx: tx.run(RAW_QUERY, values).consume())

    return work


# -- harness ---------------------------------------------------------------------------


def bench_settings() -> Settings:
    env = dict(os.environ)
    env.setdefault("LINEAGE_GRAPH_NEO4J_INSTANCE", "bench")
    env.setdefault("LINEAGE_GRAPH_NEO4J_BOLT_PORT", "7689")
    env.setdefault("LINEAGE_GRAPH_NEO4J_HTTP_PORT", "7476")
    return Settings.from_env(env)


def bench_neo4j() -> Settings:
    """The bench settings, with the managed instance started (NEO4J_URI: that server)."""
    settings = bench_settings()
    if settings.managed:
        from lineage_graph.neo4j_server import ManagedNeo4j

        ManagedNeo4j(settings).up()
    return settings


def machine_line(settings: Settings) -> str:
    """The first line every benchmark prints: where its figures come from."""
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, Neo4j {settings.neo4j_version} at "
            f"{settings.bolt_uri}")


def alternate(measures: dict[str, Callable[[], float]], rounds: int = 2
              ) -> dict[str, list[float]]:
    """Each measure ``rounds`` times, taking turns, so none profits from running later (JIT,
    page cache, background work in the JVM). Warm up before calling."""
    found: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            found[name].append(measure())
    return found


def runs_text(values: list[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in values)


def tail(*rounds: list[float]) -> str:
    """p50, p99 and max of per-request latencies after warm-up (the first 10% of each round's
    requests)."""
    steady = (sorted(x for latencies in rounds for x in latencies[len(latencies) // 10:])
              or sorted(x for latencies in rounds for x in latencies))
    p99 = steady[min(len(steady) - 1, int(len(steady) * 0.99))]
    return (f"p50 {statistics.median(steady) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {steady[-1] * 1000:.0f} ms")


def api_rss_mib(url: str) -> float | None:
    """Resident memory of the `lineage-graph serve` process listening at ``url`` (Linux)."""
    port = url.rsplit(":", 1)[1].encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"serve" in args and port in args:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return None


def disk_usage(settings: Settings) -> tuple[int, int] | None:
    """Bytes of the managed instance's store and of its transaction logs (None: not managed)."""
    usage = managed_disk_usage(settings)
    return None if usage is None else (usage.store_bytes, usage.transaction_log_bytes)


def wipe(db: Database) -> None:
    """Empty the database, then pause so background work (index updates, GC) from one
    phase does not land in the next phase's timing."""
    with db.driver.session(database=db.name) as session:
        # Relationships first: DETACH DELETE of a hub (a node with 100,000 relationships, as
        # queries.py builds) in one inner transaction exceeds a 1 GiB heap's transaction memory.
        session.run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
                    ).consume()
        session.run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    time.sleep(3)


class Poster:
    """The benchmark's HTTP client: one keep-alive connection (the standard library's
    http.client), bodies encoded before the clock starts, so the figures are the API's and not
    the client's. Measured on this machine, client CPU per single POST: httpx 0.92 ms, requests
    (openlineage-python's transport) 1.10 ms, http.client 0.34 ms with the JSON encoding that
    this benchmark does before the clock starts."""

    def __init__(self, url: str, timeout: float = 600) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.connection.request("POST", path, body=body,
                                headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        return response.status, response.read()

    def __enter__(self) -> Poster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def post_concurrently(url: str, events: list[dict[str, Any]], senders: int
                      ) -> tuple[list[float], float]:
    """POST each event once, ``senders`` threads at a time, each with its own client, in the
    events' order (a run's START before its COMPLETE within a sender's share: events are dealt
    out by run). Returns per-request latencies in sending order and events/s."""
    shares: list[list[bytes]] = [[] for _ in range(senders)]
    for i in range(0, len(events), 2):
        shares[(i // 2) % senders].extend(encoded(e) for e in events[i:i + 2])
    latencies: list[list[tuple[float, float]]] = [[] for _ in range(senders)]

    def send(k: int) -> None:
        with Poster(url, timeout=60) as client:
            for body in shares[k]:
                started = time.perf_counter()
                status, answer = client.post("/api/v1/lineage", body)
                latencies[k].append((started, time.perf_counter() - started))
                assert status == 201, answer

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(send, range(senders)))
    rate = len(events) / (time.perf_counter() - started)
    ordered = sorted(pair for share in latencies for pair in share)
    return [latency for _, latency in ordered], rate


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs (2 events each)")
    parser.add_argument("--single", type=int, default=400, help="events sent as single POSTs")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--senders", type=int, default=8,
                        help="concurrent senders of single POSTs in the last phase")
    parser.add_argument("--concurrent-events", type=int, default=4000,
                        help="events the concurrent senders POST, one per request")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure phases 1-5 this many times, taking turns; figures and "
                             "ratios are the medians over the rounds")
    parser.add_argument("--quick", action="store_true",
                        help="a run of about a minute: 250 runs, 100 single POSTs, 800 events "
                             "from the concurrent senders")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.quick:
        args.runs, args.single, args.concurrent_events = 250, 100, 800

    settings = bench_neo4j()
    events = generate_events(args.runs)
    single_events = events[: args.single]
    chunks = [events[i:i + args.batch_size] for i in range(0, len(events), args.batch_size)]
    print(machine_line(settings))
    print(f"workload: {len(events)} events ({args.runs} runs x START+COMPLETE, 3 inputs, "
          f"2 outputs, schema + columnLineage + parent + sql facets); single POSTs on the first "
          f"{len(single_events)}; batches of {args.batch_size}")

    with Database(settings) as db:
        migrate(db)

        # Every phase first writes the same warm-up events, not timed, the same way it then
        # measures (phase 0 below): a Neo4j the benchmark just started runs with a cold JIT (the
        # per-event ceiling measured 52 events/s cold and 184 warm), and each phase's API is a
        # new process whose first requests pay its own start-up (imports, first plans). Figures
        # are steady state, as a long-running service sees them.
        warm_up = generate_events(max(10, args.single // 8))
        warm_writers = [prepared_raw_writer(db, [e]) for e in warm_up]

        # 0. warm Neo4j up, not measured
        wipe(db)
        for writer in warm_writers:
            writer()

        single_latencies: list[list[float]] = []  # per round
        latencies: list[list[float]] = []
        rss: list[float | None] = [None, None]  # the API's, before and after the batches
        single_bodies = [encoded(e) for e in single_events]
        batch_bodies = [encoded(chunk) for chunk in chunks]
        receipt = Receipt.now()
        prepared = [PreparedWrite.of(list(enumerate(parse_event(e) for e in chunk)),
                                     [receipt] * len(chunk))
                    for chunk in [warm_up, *chunks]]

        # 1. per-event raw ceiling: one transaction per event
        def raw_per_event() -> float:
            wipe(db)
            for writer in warm_writers:
                writer()
            writers = [prepared_raw_writer(db, [e]) for e in single_events]
            return len(single_events) / timed(lambda: [w() for w in writers])

        # 2. single POSTs through the API
        def single_posts() -> float:
            wipe(db)
            single_latencies.append([])
            with served_api(settings) as url, Poster(url, timeout=60) as client:
                for event in warm_up:
                    assert client.post("/api/v1/lineage", encoded(event))[0] == 201

                def post_all() -> None:
                    for body in single_bodies:
                        started = time.perf_counter()
                        status, answer = client.post("/api/v1/lineage", body)
                        single_latencies[-1].append(time.perf_counter() - started)
                        assert status == 201, answer
                return len(single_events) / timed(post_all)

        # 3. batched raw ceiling
        def raw_batched() -> float:
            wipe(db)
            prepared_raw_writer(db, warm_up)()
            writers = [prepared_raw_writer(db, chunk) for chunk in chunks]
            return len(events) / timed(lambda: [w() for w in writers])

        # 4. the platform's write path alone: its own code from the parsed events' write plan
        # on (sequence lock, record, merge rules, version resolution), plans prepared outside
        # the timed region
        def write_path_only() -> float:
            wipe(db)
            service = IngestService(db)
            service.write_prepared(prepared[0])  # the warm-up batch

            def write_prepared() -> None:
                for chunk in prepared[1:]:
                    # Every event accepted: a chunk Neo4j refused would be retried event by
                    # event, and that slower path timed instead.
                    assert {o.status for o in service.write_prepared(chunk)} == {"accepted"}
            return len(events) / timed(write_prepared)

        # 5. the batch endpoint
        def batch_endpoint() -> float:
            wipe(db)
            latencies.append([])
            with served_api(settings) as url, Poster(url) as client:
                assert client.post("/api/v1/lineage/batch", encoded(warm_up))[0] == 200
                rss[0] = api_rss_mib(url)

                def post_batches() -> None:
                    for body in batch_bodies:
                        started = time.perf_counter()
                        status, answer = client.post("/api/v1/lineage/batch", body)
                        latencies[-1].append(time.perf_counter() - started)
                        assert status == 200 and json.loads(answer)["summary"]["rejected"] == 0
                rate = len(events) / timed(post_batches)
                rss[1] = api_rss_mib(url)
                return rate

        # In rounds, each phase taking its turn (alternate): a ratio's two sides are measured
        # minutes apart at most, whatever this machine does meanwhile.
        rounds = alternate({"raw per-event": raw_per_event, "single POST": single_posts,
                            "raw batched": raw_batched, "write path only": write_path_only,
                            "batch endpoint": batch_endpoint}, rounds=args.rounds)
        results = {name: statistics.median(rates) for name, rates in rounds.items()}
        rss_start, rss_end = rss

        # 6. concurrent senders, one event per POST: throughput, tails and the API's memory
        wipe(db)
        concurrent_events = generate_events(max(1, args.concurrent_events // 2))
        with served_api(settings) as url:
            with Poster(url, timeout=60) as client:
                for event in warm_up:
                    assert client.post("/api/v1/lineage", encoded(event))[0] == 201
            concurrent_rss_start = api_rss_mib(url)
            concurrent_latencies, concurrent_rate = post_concurrently(
                url, concurrent_events, args.senders)
            concurrent_rss_end = api_rss_mib(url)

    print()
    for name, rate in results.items():
        each = f"   (rounds: {runs_text(rounds[name])})" if args.rounds > 1 else ""
        print(f"{name:>16}: {rate:9.1f} events/s{each}")
    print(f"{f'{args.senders} senders':>16}: {concurrent_rate:9.1f} events/s")
    every_batch = [x for each in latencies for x in each]
    print(f"{'batch latency':>16}: median {statistics.median(every_batch) * 1000:.0f} ms "
          f"per {args.batch_size} events")
    print(f"{'request tails':>16}: single POST {tail(*single_latencies)}; batch "
          f"{tail(*latencies)} (the first 10% of each phase's requests is warm-up, left out)")
    print(f"{'concurrent tails':>16}: {args.senders} senders, {len(concurrent_events)} single "
          f"POSTs: {tail(concurrent_latencies)} (goal: max under 1 s after warm-up)")
    if rss_start is not None and rss_end is not None:
        print(f"{'API memory':>16}: RSS {rss_start:.0f} MiB before the batches, {rss_end:.0f} MiB "
              f"after {len(events)} events" + (" (the last round)" if args.rounds > 1 else ""))
    if concurrent_rss_start is not None and concurrent_rss_end is not None:
        print(f"{'API memory':>16}: RSS {concurrent_rss_start:.0f} MiB before the concurrent "
              f"senders, {concurrent_rss_end:.0f} MiB after {len(concurrent_events)} POSTs")
    def ratio(phase: str, ceiling: str) -> float:
        """Each round's ratio from the phases it measured together, then their median."""
        return statistics.median(p / c for p, c in zip(rounds[phase], rounds[ceiling],
                                                       strict=True))

    single_ratio = ratio("single POST", "raw per-event")
    batch_ratio = ratio("batch endpoint", "raw batched")
    print()
    print(f"single POST / raw per-event ceiling: {single_ratio:6.1%}   (goal >= 75%)")
    print(f"batch endpoint / raw batched ceiling: {batch_ratio:6.1%}   (goal >= 80%)")
    print(f"write path only / raw batched:        "
          f"{ratio('write path only', 'raw batched'):6.1%}   "
          "(same statements, no validation/planning/HTTP)")
    print(f"single POST / raw batched ceiling:    {ratio('single POST', 'raw batched'):6.1%}")
    usage = disk_usage(settings)
    if usage is not None:
        store, logs = usage
        # Every phase wrote (and wiped) the graph; the store holds the last phase's events, the
        # logs what the retention (LINEAGE_GRAPH_NEO4J_TX_LOG_RETENTION) kept of all of them.
        print(f"disk: store {store / 2**20:.1f} MiB ({store / len(events) / 1024:.1f} KiB per "
              f"event of the last phase), transaction logs {logs / 2**20:.1f} MiB "
              f"(retention {settings.tx_log_retention!r})")
    print(json.dumps({"benchmark": "ingest", "single_ratio": round(single_ratio, 3),
                      "batch_ratio": round(batch_ratio, 3)}))


if __name__ == "__main__":
    main()
