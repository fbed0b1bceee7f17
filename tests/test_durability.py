"""Nothing acknowledged is lost, nothing is applied twice: Neo4j stopped mid-stream, the API
SIGKILLed mid-batch and restarted while Neo4j is still down, then Neo4j back. Also concurrent
emitters on overlapping datasets, /healthz and /metrics."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from lineage_graph.db.connection import Database
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.private_files import exclusive_lock
from lineage_graph.settings import Settings
from tests.conftest import query, require_managed
from tests.events import T0, ds, new_run_id, run_event
from tests.serving import api_process


def _event(i: int) -> dict[str, Any]:
    return run_event("COMPLETE", new_run_id(), ("spark", f"job_{i % 7}"), T0,
                     inputs=[ds("s3://lake", f"in_{i % 5}")],
                     outputs=[ds("s3://lake", f"out_{i}", ["id"])])


def _post_all(url: str, events: list[dict[str, Any]], acknowledged: dict[str, int]) -> None:
    for event in events:
        response = httpx.post(f"{url}/api/v1/lineage", json=event, timeout=60)
        assert response.status_code in (201, 202), response.text
        acknowledged[response.json()["sha256"]] = response.status_code


def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_no_acknowledged_event_is_lost_or_applied_twice(
        db: Database, neo4j_server: Settings, tmp_path: Path) -> None:
    require_managed(neo4j_server, "stopping Neo4j needs the managed test instance")
    from lineage_graph.neo4j_server import ManagedNeo4j

    server = ManagedNeo4j(neo4j_server)
    spool, log = tmp_path / "spool", tmp_path / "api.log"
    acknowledged: dict[str, int] = {}
    try:
        with api_process(neo4j_server, spool, log) as api:
            url = api.url  # type: ignore[attr-defined]
            _post_all(url, [_event(i) for i in range(20)], acknowledged)
            assert set(acknowledged.values()) == {201}

            server.down()  # Neo4j goes away mid-stream
            _post_all(url, [_event(i) for i in range(20, 40)], acknowledged)
            batch = [_event(i) for i in range(40, 60)]
            response = httpx.post(f"{url}/api/v1/lineage/batch", json=batch, timeout=60)
            assert response.status_code == 202
            assert response.json()["summary"]["spooled"] == 20
            acknowledged.update((r["sha256"], 202) for r in response.json()["results"])
            health = httpx.get(f"{url}/healthz", timeout=30)
            assert health.status_code == 503 and health.json()["spool"]["depth"] == 40

            # SIGKILL while a batch is in flight. The test holds the spool's lock, so the
            # batch's append waits inside the API (the kernel lists it as a waiter on the
            # lock): the kill lands mid-request, and that batch was never acknowledged.
            in_flight = [_event(i) for i in range(60, 260)]
            answers: list[int] = []
            with exclusive_lock(spool / "spool.lock"):
                sender = threading.Thread(target=lambda: _swallow(lambda: answers.append(
                    httpx.post(f"{url}/api/v1/lineage/batch", json=in_flight,
                               timeout=60).status_code)))
                sender.start()
                _wait_for(lambda: _waits_on(spool / "spool.lock", api.pid), 30,
                          "the batch to wait on the spool lock")
                api.send_signal(signal.SIGKILL)
                api.wait(timeout=30)
                sender.join(timeout=60)
            assert answers == [], "the killed batch was answered"

        # A new API process starts while Neo4j is still down, then Neo4j comes back.
        with api_process(neo4j_server, spool, log) as api:
            url = api.url  # type: ignore[attr-defined]
            assert httpx.get(f"{url}/healthz", timeout=30).status_code == 503
            _post_all(url, [_event(i) for i in range(300, 310)], acknowledged)
            server.up(progress=False)
            _wait_for(lambda: _healthy_and_drained(url), 120, "the spool to drain")
            _post_all(url, [_event(i) for i in range(310, 320)], acknowledged)
    finally:
        server.up(progress=False)

    rows = query(db, "MATCH (e:Event) RETURN e.sha256 AS sha")
    shas = [r["sha"] for r in rows]
    assert len(shas) == len(set(shas)), "an event was applied twice"
    missing = set(acknowledged) - set(shas)
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert acknowledged and len(acknowledged) == 80
    # Every acknowledged run is in the graph, once.
    [runs] = query(db, "MATCH (r:Run) RETURN count(r) AS n, count(DISTINCT r.runId) AS d")
    assert runs["n"] == runs["d"] >= len(acknowledged)
    # What a double apply would change: every record once, sequence numbers gap-free, the
    # chain intact across the outage, the SIGKILL and the drain, and each run written once.
    seqs = [r["seq"] for r in query(db, "MATCH (e:Event) RETURN e.seq AS seq ORDER BY seq")]
    assert seqs == list(range(1, len(shas) + 1))
    assert verify_ledger(db).ok
    assert query(db, "MATCH (r:Run) WHERE COUNT { (r)-[:WROTE]->() } <> 1 "
                     "RETURN count(r) AS n") == [{"n": 0}]
    # What a double apply would have added: a second dataset version per output, a second
    # schema facet or field. None of the killed batch was written.
    [shape] = query(db, """MATCH (r:Run) WITH count(r) AS runs
        RETURN runs, COUNT { MATCH (:DatasetVersion) } AS versions,
               COUNT { MATCH (:Run)-[:WROTE_VERSION]->() } AS wroteVersions,
               COUNT { MATCH (f:Facet) } AS facets, COUNT { MATCH (f:Field) } AS fields""")
    assert shape == {"runs": 80, "versions": 80, "wroteVersions": 80, "facets": 80,
                     "fields": 80}
    killed = [e["run"]["runId"] for e in in_flight]
    assert query(db, "MATCH (r:Run) WHERE r.runId IN $ids RETURN count(r) AS n",
                 ids=killed) == [{"n": 0}]


def _swallow(fn: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # killed mid-request: never acknowledged
        fn()


def _waits_on(lock: Path, pid: int) -> bool:
    """The kernel lists process ``pid`` as blocked on the flock of ``lock`` (/proc/locks)."""
    inode = lock.stat().st_ino
    return any(line.split()[1] == "->" and line.split()[5] == str(pid)
               and line.split()[6].endswith(f":{inode}")
               for line in Path("/proc/locks").read_text().splitlines())


def _healthy_and_drained(url: str) -> bool:
    try:
        body = httpx.get(f"{url}/healthz", timeout=10)
    except httpx.HTTPError:
        return False
    return body.status_code == 200 and body.json()["spool"]["depth"] == 0


def test_concurrent_emitters_on_overlapping_datasets(api_url: str, db: Database) -> None:
    """Eight emitters at once, every run reading and writing the same few datasets: no 5xx,
    and the graph holds exactly what was sent."""
    errors: list[str] = []
    sent: list[str] = []
    lock = threading.Lock()

    def emitter(worker: int) -> None:
        with httpx.Client(timeout=120) as client:
            for i in range(15):
                run_id = new_run_id()
                event = run_event("COMPLETE", run_id, ("spark", f"shared_{i % 3}"), T0,
                                  inputs=[ds("s3://lake", f"shared_in_{i % 2}", ["id"])],
                                  outputs=[ds("s3://lake", f"shared_out_{i % 2}", ["id"])])
                response = client.post(f"{api_url}/api/v1/lineage", json=event)
                with lock:
                    if response.status_code != 201:
                        errors.append(f"{response.status_code}: {response.text}")
                    sent.append(run_id)

    threads = [threading.Thread(target=emitter, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    [row] = query(db, """MATCH (r:Run) RETURN count(r) AS runs,
        COUNT { MATCH (:Dataset) } AS datasets, COUNT { MATCH (:Run)-[:READ]->() } AS reads,
        COUNT { MATCH (e:Event) } AS events""")
    assert row == {"runs": 120, "datasets": 4, "reads": 120, "events": 120}
    seqs = [r["seq"] for r in query(db, "MATCH (e:Event) RETURN e.seq AS seq ORDER BY seq")]
    assert seqs == list(range(1, 121))  # gap-free under concurrency
    assert verify_ledger(db).ok  # and chained correctly: each record follows the one before


def test_metrics_count_what_happened(api_url: str, db: Database) -> None:
    before = _metric(api_url, 'lineage_graph_events_total{status="accepted"}')
    rejected = _metric(api_url, 'lineage_graph_events_total{status="rejected"}')
    for i in range(3):
        assert httpx.post(f"{api_url}/api/v1/lineage", json=_event(i)).status_code == 201
    assert httpx.post(f"{api_url}/api/v1/lineage", json={"eventType": "START"}
                      ).status_code == 422
    text = httpx.get(f"{api_url}/metrics").text
    assert _metric(api_url, 'lineage_graph_events_total{status="accepted"}') == before + 3
    assert _metric(api_url, 'lineage_graph_events_total{status="rejected"}') == rejected + 1
    assert "lineage_graph_spool_depth 0.0" in text
    assert "lineage_graph_request_seconds_bucket" in text


def _metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_spool_cli_shows_and_drains(db: Database, neo4j_server: Settings,
                                    tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from lineage_graph.db.connection import resolve_password
    from lineage_graph.ingest.spool import Spool
    from lineage_graph.openlineage.parse import parse_event_text

    spool = Spool(tmp_path)
    texts = [json.dumps(_event(i)) for i in range(5)]
    spool.append([(parse_event_text(t).sha256, t) for t in texts])
    env = {"NEO4J_URI": neo4j_server.bolt_uri, "NEO4J_USER": neo4j_server.neo4j_user,
           "NEO4J_PASSWORD": resolve_password(neo4j_server), "PATH": "/usr/bin:/bin",
           "LINEAGE_GRAPH_SPOOL_DIR": str(tmp_path)}
    cli = [sys.executable, "-m", "lineage_graph.cli", "spool"]
    status = subprocess.run([*cli, "status"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert status.returncode == 0 and "5 events waiting" in status.stdout
    drained = subprocess.run([*cli, "drain"], capture_output=True, text=True, env=env,
                             timeout=120)
    assert drained.returncode == 0, drained.stderr
    assert "drained: 5 applied, 0 already present, 0 refused; 0 waiting" in drained.stdout
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 5}]
    assert not spool.has_pending()


def test_a_refusal_that_is_not_the_events_fault_is_an_outage_never_a_rejection(
        neo4j_server: Settings) -> None:
    """Neo4j refusing the work itself (here a database it does not have; in production a role
    without write access, or a full disk) must not read as "these events are invalid": that
    would answer them as rejected, and the Kafka consumer would dead-letter and commit them.
    It is an outage: the HTTP path spools, the consumer retries."""
    from dataclasses import replace

    import pytest

    from lineage_graph.db.connection import resolve_password
    from lineage_graph.errors import Neo4jUnavailableError
    from lineage_graph.ingest.service import IngestService
    from tests.events import pipeline

    elsewhere = replace(neo4j_server, neo4j_uri=neo4j_server.bolt_uri,
                        neo4j_password=resolve_password(neo4j_server),
                        neo4j_database="nosuchdatabase", neo4j_retry_seconds=1)
    with Database(elsewhere) as db, pytest.raises(Neo4jUnavailableError, match="refused"):
        IngestService(db).ingest_raw([(e, None) for e in pipeline(n_runs=1)])
