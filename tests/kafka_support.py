"""A real Kafka broker for tests and benchmarks (the managed one: KRaft, Maven jars, no
Docker), events produced with openlineage-python's own Kafka transport, and readers of what
Kafka holds (a topic's messages, a group's committed offsets)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

from lineage_graph.kafka_broker import ManagedKafka
from lineage_graph.settings import Settings
from tests.events import PRODUCER, T0
from tests.optional_extras import require_extra

# The `kafka` extra (in `dev`): missing, the Kafka tests skip, except in CI where they fail.
require_extra("confluent_kafka", "kafka")
from confluent_kafka import Consumer, Message, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

PARTITIONS = 4


@contextmanager
def managed_kafka(settings: Settings) -> Iterator[str]:
    """The managed test broker (ports 9192/9193 unless LINEAGE_GRAPH_KAFKA_PORT and
    _CONTROLLER_PORT say otherwise); yields its bootstrap servers. Stopped afterwards unless
    it already ran or LINEAGE_GRAPH_KEEP_TEST_NEO4J=1 keeps the test servers up."""
    kafka_settings = replace(
        settings,
        kafka_port=int(os.environ.get("LINEAGE_GRAPH_KAFKA_PORT", "9192")),
        kafka_controller_port=int(os.environ.get("LINEAGE_GRAPH_KAFKA_CONTROLLER_PORT",
                                                 "9193")))
    manager = ManagedKafka(kafka_settings)
    was_running = manager.status().running
    status = manager.up(progress=False)
    try:
        yield status.bootstrap_servers
    finally:
        if not was_running and os.environ.get("LINEAGE_GRAPH_KEEP_TEST_NEO4J") != "1":
            manager.down()


def new_topic(servers: str, prefix: str = "openlineage", name: str | None = None) -> str:
    """A topic of its own (the broker outlives a test), made with four partitions, returned
    once the broker's metadata shows it with a leader for each. Creation can answer before
    that on a loaded machine; a consumer subscribing then finds no such topic and postpones
    joining its group until a later metadata refresh (a CI run timed out waiting for two
    members so)."""
    name = name or f"{prefix}.{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": servers})
    for future in admin.create_topics([NewTopic(name, PARTITIONS, 1)]).values():
        future.result(30)
    deadline = time.monotonic() + 30
    while True:
        topic = admin.list_topics(name, timeout=10).topics.get(name)
        if (topic is not None and topic.error is None and len(topic.partitions) == PARTITIONS
                and all(p.leader >= 0 for p in topic.partitions.values())):
            return name
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} not in the broker's metadata after 30 s")
        time.sleep(0.1)


def training_runs(n_runs: int, n_jobs: int = 25) -> list[RunEvent]:
    """``2 * n_runs`` events as openlineage-python builds them: each run of one of ``n_jobs``
    jobs reads a raw table and writes a features table with a schema and column lineage,
    START then COMPLETE."""
    events: list[RunEvent] = []
    for i in range(n_runs):
        job = f"features_{i % n_jobs}"
        source, target = f"raw.frames_{i % n_jobs}", f"features.frames_{i % n_jobs}"
        fields = [schema_dataset.SchemaDatasetFacetFields(name=n, type="STRING")
                  for n in ("frame_id", "ts")]
        lineage = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
            n: column_lineage_dataset.Fields(inputFields=[
                column_lineage_dataset.InputField("s3://lake", source, n)])
            for n in ("frame_id", "ts")})
        inputs = [InputDataset("s3://lake", source,
                               facets={"schema": schema_dataset.SchemaDatasetFacet(fields)})]
        outputs = [OutputDataset("s3://lake", target, facets={
            "schema": schema_dataset.SchemaDatasetFacet(fields), "columnLineage": lineage})]
        run = Run(runId=str(uuid.uuid4()))
        at = T0 + timedelta(minutes=i)
        for state, when in ((RunState.START, at), (RunState.COMPLETE, at + timedelta(seconds=30))):
            events.append(RunEvent(eventType=state, eventTime=when.isoformat(), run=run,
                                   job=Job("spark", job), inputs=inputs, outputs=outputs,
                                   producer=PRODUCER))
    return events


def emit(servers: str, topic: str, events: list[RunEvent]) -> None:
    """Send through openlineage-python's Kafka transport (it keys each run's events by its
    job, so they share a partition and keep their order), then wait for every delivery."""
    transport = KafkaTransport(KafkaConfig(config={"bootstrap.servers": servers}, topic=topic,
                                           flush=False))
    for event in events:
        transport.emit(event)
    assert transport.wait_for_completion(60), "Kafka did not take every event"


def produce_raw(servers: str, topic: str, values: list[bytes | None]) -> None:
    """Send raw message values (for payloads no OpenLineage client would make)."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": servers})
    for value in values:
        producer.produce(topic, value=value, key=b"run:spark/raw")
    assert producer.flush(30) == 0


def read_topic(servers: str, topic: str, expected: int, timeout_s: float = 30) -> list[Message]:
    """Every message of ``topic`` (at least ``expected`` of them, or what came within the
    timeout), read by a group of its own."""
    import time

    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"reader-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    found: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < expected and time.monotonic() < deadline:
            found += [m for m in consumer.consume(100, timeout=1) if m.error() is None]
    finally:
        consumer.close()
    return found


def committed_offsets(servers: str, topic: str, group: str) -> list[int]:
    """The group's committed offset of each partition (negative: none committed)."""
    consumer = Consumer({"bootstrap.servers": servers, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], 30)
    finally:
        consumer.close()
    return [tp.offset for tp in sorted(found, key=lambda tp: tp.partition)]


def end_offsets(servers: str, topic: str) -> list[int]:
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"reader-{uuid.uuid4()}"})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1]
                for p in range(PARTITIONS)]
    finally:
        consumer.close()


def group_members(servers: str, group: str) -> int:
    """Members of ``group`` once it is stable (0 while it forms)."""
    from confluent_kafka import KafkaException

    admin = AdminClient({"bootstrap.servers": servers})  # alive until the answer comes
    [future] = admin.describe_consumer_groups([group]).values()
    try:
        found = future.result(10)
    except (KafkaException, TimeoutError):  # the coordinator does not know the group yet
        return 0
    return len(found.members) if str(found.state).endswith("STABLE") else 0


def caught_up(servers: str, topic: str, group: str) -> bool:
    """Has the group committed every partition to its end (a partition nobody wrote to needs
    no commit)?"""
    ends = end_offsets(servers, topic)
    committed = committed_offsets(servers, topic, group)
    return all(c == e for c, e in zip(committed, ends, strict=True) if e > 0)


def headers_of(message: Message) -> dict[str, Any]:
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in message.headers() or []}
