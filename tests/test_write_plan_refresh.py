"""Writers never plan the write statement under the sequence lock; a background thread replans
it on current statistics instead (a replan took about a second, and every writer waited)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import neo4j
import pytest

from lineage_graph.db import lineage_writes
from lineage_graph.db.connection import Database
from lineage_graph.ingest.plan_refresh import WritePlanRefresher
from lineage_graph.ingest.service import IngestService
from lineage_graph.openlineage.parse import parse_event
from lineage_graph.settings import Settings
from tests.conftest import SentStatement, query, wipe
from tests.events import pipeline
from tests.serving import free_port

PRE_PARSER_OPTIONS = ("CYPHER replan=skip\n", "CYPHER replan=force EXPLAIN\n", "EXPLAIN\n")


def _body(statement: str) -> str:
    for option in PRE_PARSER_OPTIONS:
        statement = statement.removeprefix(option)
    return statement


def test_writers_run_the_cached_plan_and_the_refresh_replans_that_same_statement(
        db: Database, cypher_sent: list[SentStatement]) -> None:
    """The event write never replans (replan=skip: Neo4j would otherwise replan a drifted plan
    at its next use, under the lock), and the refresh replans exactly that statement (Neo4j
    caches plans by statement text without its pre-parser options)."""
    IngestService(db).ingest_one(parse_event(pipeline(n_runs=1)[0]))
    writes = [s.text for s in cypher_sent if "CREATE (ev:Event" in s.text]
    assert len(writes) == 1 and writes[0].startswith("CYPHER replan=skip\n")
    cypher_sent.clear()
    assert WritePlanRefresher(db).refresh()
    [replan] = [s.text for s in cypher_sent
                if s.text.startswith("CYPHER replan=force EXPLAIN\n")]
    assert _body(replan) == _body(writes[0])
    # A process's first check only makes sure a plan is cached (no forced replan: a server
    # restarted against a running Neo4j costs a cache hit), for the same statement.
    cypher_sent.clear()
    assert WritePlanRefresher(db).refresh_if_grown()
    [first] = [s.text for s in cypher_sent if "EXPLAIN" in s.text]
    assert first.startswith("EXPLAIN\n") and _body(first) == _body(writes[0])


def test_a_refresh_writes_nothing(db: Database) -> None:
    IngestService(db).ingest_one(parse_event(pipeline(n_runs=1)[0]))
    before = query(db, "MATCH (n) RETURN count(n) AS nodes, "
                       "COUNT { ()-->() } AS rels")[0]
    sequence = query(db, "MATCH (s:Sequence) RETURN properties(s) AS p")
    assert WritePlanRefresher(db).refresh()
    assert query(db, "MATCH (n) RETURN count(n) AS nodes, COUNT { ()-->() } AS rels")[0] == before
    assert query(db, "MATCH (s:Sequence) RETURN properties(s) AS p") == sequence


def test_the_refresher_replans_at_start_and_stops(db: Database) -> None:
    """At start, before the first write needs the plan; stop() ends the thread."""
    with WritePlanRefresher(db, interval=3600) as refresher:
        deadline = time.monotonic() + 60
        while refresher.refreshes == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert refresher.refreshes == 1
    assert not refresher._thread.is_alive()


def test_stop_waits_for_a_replan_in_flight(db: Database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The API closes the driver right after stop(): closed under a statement in flight, the
    driver tore that statement's connection and the shutdown failed (a BufferError). So stop()
    returns once the replan in flight has returned."""
    started = threading.Event()

    def slow_replan(tx: neo4j.ManagedTransaction, force: bool = True) -> None:
        tx.run("RETURN 1").consume()
        started.set()
        time.sleep(3)  # a replan still running, its connection in use

    monkeypatch.setattr(lineage_writes, "refresh_write_plan", slow_replan)
    refresher = WritePlanRefresher(db, interval=3600)
    refresher.start()
    assert started.wait(30)
    refresher.stop()
    assert not refresher._thread.is_alive()
    assert refresher.refreshes == 1


def test_the_refresher_replans_only_once_the_record_has_grown(db: Database) -> None:
    """A replan costs Neo4j about a second of CPU: a graph that does not grow is not replanned
    again, one that grew by a quarter (and at least min_new_records) is."""
    ingest = IngestService(db)
    refresher = WritePlanRefresher(db, min_new_records=4)
    assert refresher.refresh_if_grown()  # never planned yet
    assert not refresher.refresh_if_grown()
    events = pipeline(n_runs=3)
    ingest.ingest_raw([(e, None) for e in events[:3]])
    assert not refresher.refresh_if_grown()  # 3 new records: fewer than 4
    ingest.ingest_raw([(e, None) for e in events[3:]])
    assert refresher.refresh_if_grown()
    wipe(db)  # emptied (or restored smaller): a new graph, planned again
    assert refresher.refresh_if_grown()
    assert refresher.refreshes == 3


def test_an_unreachable_neo4j_is_no_error(neo4j_server: Settings) -> None:
    """Writers still plan once themselves when they must; the thread tries again sooner."""
    down = replace(neo4j_server, neo4j_uri=f"bolt://127.0.0.1:{free_port()}",
                   neo4j_password="unused", neo4j_retry_seconds=1)
    with Database(down) as unreachable:
        refresher = WritePlanRefresher(unreachable)
        assert refresher.refresh() is False
        assert refresher.refresh_if_grown() is False
        assert refresher.refreshes == 0
