"""Beyond one process (docs/scaling.md): several `serve` replicas on one Neo4j, and a routed
`neo4j://` URI whose reads run in read transactions (a cluster sends them to its readers)."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import Any

import httpx
import pytest
from neo4j.exceptions import ClientError

from lineage_graph.db.connection import Database, resolve_password
from lineage_graph.ingest.service import IngestService
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.lineage.service import Direction, LineageService
from lineage_graph.settings import Settings
from tests.conftest import query, wipe
from tests.events import T0, pipeline
from tests.serving import served_api

# Node identity that does not depend on which process wrote it (never elementId).
_KEY = ("coalesce(n.nodeId, n.sha256, n.runId, n.facetId, n.fieldId, n.aliasId, n.key, "
        "n.name)")
# Properties a write sets from the clock or the lock it took, which differ between any two
# runs: the record's own fields (receipt, sequence, chain, and the text as received: HTTP
# clients and the CLI write the same event differently) and lock stamps.
_VOLATILE = {"lockedAt", "receivedAt", "seq", "prevHash", "chainHash", "keyId", "head", "value",
             "raw"}


def _graph(db: Database) -> tuple[list[Any], list[Any]]:
    """The whole graph as sorted plain values, without what the clock decides."""
    nodes = query(db, f"MATCH (n) RETURN labels(n) AS labels, {_KEY} AS key, "
                      "properties(n) AS props")
    rels = query(db, f"MATCH (n)-[r]->(m) WITH n, r, m, {_KEY} AS a "
                     f"WITH r, m, a, {_KEY.replace('n.', 'm.')} AS b "
                     "RETURN type(r) AS type, a, b, properties(r) AS props")
    plain_nodes = sorted(repr((sorted(n["labels"]), n["key"], sorted(
        (k, str(v)) for k, v in n["props"].items() if k not in _VOLATILE))) for n in nodes)
    plain_rels = sorted(repr((r["type"], r["a"], r["b"], sorted(
        (k, str(v)) for k, v in r["props"].items()))) for r in rels)
    return plain_nodes, plain_rels


def _post_all(url: str, events: list[dict[str, Any]], failures: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        for event in events[: len(events) // 2]:
            answer = client.post("/api/v1/lineage", json=event)
            if answer.status_code != 201:
                failures.append(f"{url}: {answer.status_code} {answer.text}")
        answer = client.post("/api/v1/lineage/batch", json=events[len(events) // 2:])
        if answer.status_code != 200:
            failures.append(f"{url}: {answer.status_code} {answer.text}")


def test_two_replicas_ingesting_at_once_write_the_graph_one_process_would(
        db: Database, neo4j_server: Settings) -> None:
    """Two `serve` processes on one Neo4j, each sent the same events (a retrying emitter
    behind a load balancer) and events of its own, at the same time: every event is recorded
    once, the sequence has no gap, the ledger verifies, and the graph is the one a single
    process makes of the same events."""
    shared = pipeline(n_runs=3)
    own_a = pipeline(n_runs=2, start=T0.replace(day=5))
    own_b = pipeline(n_runs=2, start=T0.replace(day=9))
    failures: list[str] = []
    with served_api(neo4j_server) as first, served_api(neo4j_server) as second:
        senders = [threading.Thread(target=_post_all, args=(first, shared + own_a, failures)),
                   threading.Thread(target=_post_all, args=(second, shared + own_b, failures))]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    assert not failures, failures
    expected = len(shared) + len(own_a) + len(own_b)
    [record] = query(db, "MATCH (e:Event {recordType: 'openlineage'}) RETURN count(e) AS n, "
                         "count(DISTINCT e.sha256) AS distinct, min(e.seq) AS first, "
                         "max(e.seq) AS last")
    assert record == {"n": expected, "distinct": expected, "first": 1, "last": expected}
    assert verify_ledger(db).ok
    replicated = _graph(db)

    wipe(db)
    IngestService(db).ingest_raw([(e, None) for e in shared + own_a + own_b])
    serial = _graph(db)
    for part in (0, 1):
        only_replicated = sorted(set(replicated[part]) - set(serial[part]))
        only_serial = sorted(set(serial[part]) - set(replicated[part]))
        assert not only_replicated and not only_serial, (only_replicated[:5], only_serial[:5])


def test_a_routed_uri_works_and_reads_in_read_transactions(db: Database,
                                                           neo4j_server: Settings) -> None:
    """`NEO4J_URI=neo4j://...` (routing; Community answers it for its single instance):
    ingest and lineage work, and every read (managed or one-attempt) runs in a read
    transaction, which a cluster routes to a reader and which refuses a write."""
    uri = neo4j_server.bolt_uri.replace("bolt://", "neo4j://", 1)
    if not uri.startswith("neo4j"):
        if os.environ.get("CI"):  # CI must run every test (.ci/run)
            pytest.fail(f"{uri} is not a URI that can route: unset NEO4J_URI in CI")
        pytest.skip(f"{uri} is not a URI that can route")
    routed = replace(neo4j_server, neo4j_uri=uri, neo4j_password=resolve_password(neo4j_server))
    with Database(routed) as routed_db:
        events = pipeline(n_runs=2)
        result = IngestService(routed_db).ingest_raw([(e, None) for e in events])
        assert result.count("accepted") == len(events)
        lineage = LineageService(routed_db, max_depth=20, max_limit=100).lineage(
            "dataset:s3://lake:features.frames", Direction.UPSTREAM, depth=5)
        assert "dataset:s3://lake:raw.frames" in lineage.nodes
        write = "CREATE (:Scratch {at: 1})"
        with pytest.raises(ClientError, match=r"(?i)write|access"):
            routed_db.read(lambda tx: tx.run(write).consume())
        with pytest.raises(ClientError, match=r"(?i)write|access"):
            routed_db.read_once(lambda tx: tx.run(write).consume())
    assert query(db, "MATCH (s:Scratch) RETURN count(s) AS n") == [{"n": 0}]
