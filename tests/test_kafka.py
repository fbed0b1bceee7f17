"""`lineage-graph consume` against a real Kafka broker (KRaft, from Maven Central's jars):
events produced by openlineage-python's Kafka transport go through the HTTP path's validation
and record, offsets are committed only after Neo4j committed, invalid messages go to a
dead-letter topic, and consumers of one group survive one of them being killed."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lineage_graph.db.connection import Database, resolve_password
from lineage_graph.errors import KafkaConsumeError, TransactionTooLargeError
from lineage_graph.ingest.kafka_source import (
    ERROR_HEADER,
    FIELD_HEADER,
    SOURCE_HEADER,
    VALUE_BYTES_HEADER,
    VALUE_SHA256_HEADER,
    ConsumeOptions,
    KafkaEventConsumer,
)
from lineage_graph.ingest.service import EventOutcome, IngestService
from lineage_graph.kafka_broker import ManagedKafka
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.openlineage.parse import ParsedEvent
from lineage_graph.settings import Settings
from tests.conftest import query
from tests.events import pipeline
from tests.kafka_support import (
    caught_up,
    committed_offsets,
    emit,
    group_members,
    headers_of,
    managed_kafka,
    new_topic,
    produce_raw,
    read_topic,
    training_runs,
)
from tests.serving import free_port

# The broker's smallest session timeout: a killed consumer's partitions move within seconds.
FAST_FAILOVER = ("--config", "session.timeout.ms=6000", "--config", "heartbeat.interval.ms=1000")


@pytest.fixture(scope="module")
def kafka(neo4j_server: Settings) -> Iterator[str]:
    with managed_kafka(neo4j_server) as servers:
        yield servers


def _recorded(db: Database) -> dict[str, int]:
    [row] = query(db, "MATCH (e:Event {recordType: 'openlineage'}) RETURN count(e) AS n, "
                      "count(DISTINCT e.sha256) AS distinct, min(e.seq) AS first, "
                      "max(e.seq) AS last")
    return row


def _consumer_process(settings: Settings, servers: str, topic: str, group: str,
                      log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, NEO4J_URI=settings.bolt_uri, NEO4J_USER=settings.neo4j_user,
               NEO4J_PASSWORD=resolve_password(settings), NEO4J_DATABASE=settings.neo4j_database)
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lineage_graph", "consume", "--bootstrap-servers", servers,
             "--topic", topic, "--group", group, *FAST_FAILOVER, "--json"],
            env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(condition: str, check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition}")
        time.sleep(0.25)


def test_two_consumers_one_killed_mid_stream_record_every_event_exactly_once(
        db: Database, neo4j_server: Settings, kafka: str, tmp_path: Path) -> None:
    """5,000 events from openlineage-python's Kafka transport, two `consume` processes of one
    group, one killed with SIGKILL mid-stream: its partitions move to the other, which replays
    what the killed one wrote but had not committed. Every event is recorded exactly once, the
    sequence has no gap, the ledger verifies, each run's events keep their order, and the
    group's offsets reach the topic's end."""
    topic, group = new_topic(kafka), f"lineage-{uuid.uuid4().hex[:8]}"
    events = training_runs(2500)
    first = _consumer_process(neo4j_server, kafka, topic, group, tmp_path / "first.log")
    second = _consumer_process(neo4j_server, kafka, topic, group, tmp_path / "second.log")
    try:
        # Both members own partitions before anything is sent, so the one killed has work.
        _wait_for("both consumers in the group", lambda: group_members(kafka, group) == 2, 120)
        emit(kafka, topic, events)
        _wait_for("the first 1,000 events", lambda: _recorded(db)["n"] >= 1000, 120)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = _recorded(db)["n"]
        _wait_for("all 5,000 events", lambda: _recorded(db)["n"] >= len(events), 240)
        _wait_for("the group's offsets at the topic's end",
                  lambda: caught_up(kafka, topic, group), 60)
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, (tmp_path / "second.log").read_text()
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    assert at_kill < len(events), "the consumer was killed after the stream ended"
    assert _recorded(db) == {"n": 5000, "distinct": 5000, "first": 1, "last": 5000}
    sent = {(e.run.runId, e.eventType.value if e.eventType else None) for e in events}
    stored = query(db, "MATCH (e:Event {recordType: 'openlineage'}) "
                       "RETURN e.runId AS run, e.eventType AS type, e.seq AS seq")
    assert {(r["run"], r["type"]) for r in stored} == sent
    seqs = {(r["run"], r["type"]): r["seq"] for r in stored}
    assert all(seqs[(run, "START")] < seqs[(run, "COMPLETE")] for run, _ in sent)
    assert verify_ledger(db).ok
    totals = json.loads((tmp_path / "second.log").read_text().strip().splitlines()[-1])
    assert 0 < totals["accepted"] < 5000 and totals["deadLettered"] == 0


def test_invalid_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(
        db: Database, kafka: str) -> None:
    """Not JSON, not UTF-8, an invalid event, an empty message: each goes to the dead-letter
    topic with the reason and its origin in headers, and the valid events around them are
    recorded; every offset is committed."""
    topic, group = new_topic(kafka), f"lineage-{uuid.uuid4().hex[:8]}"
    valid = pipeline(n_runs=1)
    missing_time = dict(valid[0])
    del missing_time["eventTime"]
    bad = [b"{not json", b"\xff\xfe{}", json.dumps(missing_time).encode(), None]
    produce_raw(kafka, topic, [json.dumps(valid[0]).encode(), *bad,
                               *(json.dumps(e).encode() for e in valid[1:])])
    options = ConsumeOptions(kafka, topic, group, stop_when_idle_s=3)
    totals = KafkaEventConsumer(IngestService(db), options).run(threading.Event())
    assert (totals.accepted, totals.dead_lettered) == (len(valid), len(bad))
    assert _recorded(db)["n"] == len(valid)
    letters = read_topic(kafka, options.dead_letters, expected=len(bad))
    assert sorted((m.value() or b"") for m in letters) == sorted(v or b"" for v in bad)
    by_value = {m.value(): headers_of(m) for m in letters}
    assert "not valid JSON" in by_value[b"{not json"][ERROR_HEADER]
    assert "UTF-8" in by_value[b"\xff\xfe{}"][ERROR_HEADER]
    assert by_value[json.dumps(missing_time).encode()][FIELD_HEADER] == "eventTime"
    assert "no value" in by_value[None][ERROR_HEADER]
    assert all(h[SOURCE_HEADER].startswith(f"{topic}/") for h in by_value.values())
    assert caught_up(kafka, topic, group)


def test_a_consumer_started_before_its_topic_exists_consumes_it_once_made(
        db: Database, kafka: str) -> None:
    """Subscribed to a topic that does not exist yet (deployed before the emitters made it),
    the consumer looks for it again every TOPIC_RECHECK_MS, not librdkafka's 5 minutes."""
    topic, group = f"openlineage.{uuid.uuid4().hex[:12]}", f"lineage-{uuid.uuid4().hex[:8]}"
    events = pipeline(n_runs=1)
    stop = threading.Event()
    consumer = KafkaEventConsumer(IngestService(db), ConsumeOptions(kafka, topic, group))
    worker = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    worker.start()
    try:
        time.sleep(3)  # subscribed; the topic is missing
        new_topic(kafka, name=topic)
        produce_raw(kafka, topic, [json.dumps(e).encode() for e in events])
        _wait_for("the events of a topic made after the consumer started",
                  lambda: _recorded(db)["n"] == len(events), timeout_s=60)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert caught_up(kafka, topic, group)


def test_nothing_is_committed_while_neo4j_is_unreachable(
        db: Database, neo4j_server: Settings, kafka: str) -> None:
    """A consumer whose Neo4j does not answer writes nothing and commits nothing: it rewinds
    and retries. Once a consumer of the group reaches Neo4j, every event arrives."""
    topic, group = new_topic(kafka), f"lineage-{uuid.uuid4().hex[:8]}"
    events = pipeline(n_runs=2)
    produce_raw(kafka, topic, [json.dumps(e).encode() for e in events])
    down = replace(neo4j_server, neo4j_uri=f"bolt://127.0.0.1:{free_port()}",
                   neo4j_password="unused", neo4j_retry_seconds=1)
    stop = threading.Event()
    with Database(down) as unreachable:
        consumer = KafkaEventConsumer(IngestService(unreachable),
                                      ConsumeOptions(kafka, topic, group))
        worker = threading.Thread(target=consumer.run, args=(stop,))
        worker.start()
        _wait_for("a failed write", lambda: consumer.totals.neo4j_retries >= 2, 60)
        stop.set()
        worker.join(60)
    assert consumer.totals.consumed == 0
    assert all(offset < 0 for offset in committed_offsets(kafka, topic, group))
    assert _recorded(db)["n"] == 0
    totals = KafkaEventConsumer(IngestService(db), ConsumeOptions(
        kafka, topic, group, stop_when_idle_s=3)).run(threading.Event())
    assert totals.accepted == len(events)
    assert _recorded(db)["n"] == len(events)


def test_the_managed_broker_reports_itself_and_up_is_idempotent(
        neo4j_server: Settings, kafka: str) -> None:
    env = dict(os.environ, LINEAGE_GRAPH_HOME=str(neo4j_server.home),
               LINEAGE_GRAPH_NEO4J_INSTANCE=neo4j_server.instance,
               LINEAGE_GRAPH_KAFKA_PORT=kafka.rsplit(":", 1)[1])
    status = subprocess.run([sys.executable, "-m", "lineage_graph", "kafka", "status"],
                            env=env, capture_output=True, text=True, check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"running  bootstrap-servers={kafka}" in status.stdout
    again = subprocess.run([sys.executable, "-m", "lineage_graph", "kafka", "up"],
                           env=env, capture_output=True, text=True, check=False)
    assert (again.returncode, again.stdout.strip()) == (0, kafka)
    assert subprocess.run([sys.executable, "-m", "lineage_graph", "kafka", "status"], env=env,
                          capture_output=True, text=True, check=False).stdout == status.stdout


def test_an_unreachable_kafka_is_one_clear_error(db: Database) -> None:
    options = ConsumeOptions(f"127.0.0.1:{free_port()}", "openlineage", connect_timeout_s=2)
    with pytest.raises(KafkaConsumeError, match=r"cannot reach Kafka at 127\.0\.0\.1:\d+"):
        KafkaEventConsumer(IngestService(db), options).run(threading.Event())


def test_a_message_too_large_to_copy_is_dead_lettered_by_size_and_digest(
        db: Database, kafka: str) -> None:
    """A bad message over what a dead-letter topic takes (~1 MB by default) must not stop the
    consumer: its letter carries the reason, size and sha256 instead of the value."""
    topic, group = new_topic(kafka), f"lineage-{uuid.uuid4().hex[:8]}"
    big = b"[" + b" " * 950_000 + b"not an event"
    produce_raw(kafka, topic, [big, json.dumps(pipeline(n_runs=1)[0]).encode()])
    options = ConsumeOptions(kafka, topic, group, stop_when_idle_s=3)
    totals = KafkaEventConsumer(IngestService(db), options).run(threading.Event())
    assert (totals.accepted, totals.dead_lettered) == (1, 1)
    [letter] = read_topic(kafka, options.dead_letters, expected=1)
    headers = headers_of(letter)
    assert letter.value() is None
    assert headers[VALUE_BYTES_HEADER] == str(len(big))
    assert headers[VALUE_SHA256_HEADER] == hashlib.sha256(big).hexdigest()
    assert "not valid JSON" in headers[ERROR_HEADER]
    assert caught_up(kafka, topic, group)


def test_the_dead_letter_topic_cannot_be_the_topic_consumed(db: Database, kafka: str) -> None:
    options = ConsumeOptions(kafka, "openlineage", dead_letter_topic="openlineage")
    with pytest.raises(KafkaConsumeError, match="must not be the topic consumed"):
        KafkaEventConsumer(IngestService(db), options).run(threading.Event())


class _TooLargeTogether(IngestService):
    """Neo4j refusing any write of more than two events as too large for one transaction
    (as it does past dbms.memory.transaction.total.max), and one event on its own."""

    def __init__(self, db: Database, culprit: str) -> None:
        super().__init__(db)
        self.culprit = culprit

    def write_parsed(self, events: list[tuple[int, ParsedEvent]],  # type: ignore[override]
                     receipts: list[Receipt]) -> list[EventOutcome]:
        if len(events) > 2 or any(p.event.run.runId == self.culprit  # type: ignore[union-attr]
                                  for _, p in events):
            raise TransactionTooLargeError("the write needs more memory than one transaction")
        return super().write_parsed(events, receipts)


def test_a_write_too_large_for_one_transaction_is_split_and_only_its_culprit_refused(
        db: Database, kafka: str) -> None:
    topic, group = new_topic(kafka), f"lineage-{uuid.uuid4().hex[:8]}"
    events = pipeline(n_runs=2)
    culprit = events[1]["run"]["runId"]
    produce_raw(kafka, topic, [json.dumps(e).encode() for e in events])
    options = ConsumeOptions(kafka, topic, group, stop_when_idle_s=3)
    totals = KafkaEventConsumer(_TooLargeTogether(db, culprit), options).run(threading.Event())
    refused = [e for e in events if e["run"]["runId"] == culprit]
    assert (totals.accepted, totals.dead_lettered) == (len(events) - len(refused), len(refused))
    letters = read_topic(kafka, options.dead_letters, expected=len(refused))
    assert all("more memory" in headers_of(m)[ERROR_HEADER] for m in letters)
    assert caught_up(kafka, topic, group)


def test_two_ups_at_once_start_one_broker(neo4j_server: Settings, kafka: str,
                                          tmp_path: Path) -> None:
    """A second `kafka up` while the first still starts waits for it instead of starting a
    second broker on the same files (which would leave the first without a pid file)."""
    settings = replace(neo4j_server, home=tmp_path, kafka_port=free_port(),
                       kafka_controller_port=free_port())
    # The jars of the shared cache: this instance lives elsewhere, its jars need not.
    shared = ManagedKafka(replace(neo4j_server, kafka_port=settings.kafka_port))
    manager = ManagedKafka(settings)
    manager.lib_dir = shared.lib_dir
    answers: list[int | None] = []
    ups = [threading.Thread(target=lambda: answers.append(manager.up(progress=False).pid))
           for _ in range(2)]
    try:
        for up in ups:
            up.start()
        for up in ups:
            up.join(180)
        assert len(answers) == 2 and answers[0] == answers[1] is not None
        brokers = subprocess.run(["pgrep", "-f", str(manager.properties)], capture_output=True,
                                 text=True, check=False).stdout.split()
        assert brokers == [str(answers[0])]
    finally:
        manager.down()


def test_a_cluster_id_never_reads_as_an_option() -> None:
    """A base64 id starting with '-' made Kafka's storage tool refuse it (1 start in 64)."""
    import base64

    from lineage_graph.kafka_broker.manager import _cluster_id

    for _ in range(2000):
        found = _cluster_id()
        assert not found.startswith("-")
        assert len(base64.urlsafe_b64decode(found + "==")) == 16
