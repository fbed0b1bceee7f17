"""Consume OpenLineage events from a Kafka topic (``lineage-graph consume``).

Each poll's messages go through the HTTP endpoint's validation and write path
(:meth:`IngestService.write_parsed`: the record, the hash chain, the graph, one transaction).
Offsets are committed only after Neo4j committed, so a crash or a kill replays the messages
since the last commit, and idempotent ingestion (a record per event hash) makes the replay
harmless. Consumers of one group share the topic's partitions; a partition's messages are
written in their order, so events of one run keep their order when producers key messages by
run or job (openlineage-python's Kafka transport keys by job: ``run:<namespace>/<name>``).

A message that is not a valid event (not UTF-8 JSON, an invalid event, too large, empty, or
one the database refuses) goes to the dead-letter topic with the reason in its headers, and the
partition moves on. While Neo4j is unreachable nothing is committed: the consumer rewinds to
the first message not written and retries with a growing pause, so the topic is the buffer.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineage_graph.errors import (
    InvalidEventError,
    KafkaConsumeError,
    Neo4jUnavailableError,
    QueryTimeoutError,
    TransactionTooLargeError,
)
from lineage_graph.ingest.service import EventOutcome, IngestService
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.openlineage.parse import ParsedEvent, parse_event_text

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message, Producer

log = logging.getLogger(__name__)

# Headers of a dead letter: why it was refused, and where it came from.
ERROR_HEADER = "lineage-graph.error"
FIELD_HEADER = "lineage-graph.field"
SOURCE_HEADER = "lineage-graph.source"  # topic/partition/offset of the original message
# A value too large for the dead-letter topic (Kafka refuses messages over ~1 MB by default) is
# not copied: the letter carries its size and sha256 instead, and the original stays in the
# source topic at the offset the source header names, for as long as that topic keeps it.
VALUE_BYTES_HEADER = "lineage-graph.value-bytes"
VALUE_SHA256_HEADER = "lineage-graph.value-sha256"
MAX_DEAD_LETTER_VALUE_BYTES = 900_000

MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class ConsumeOptions:
    bootstrap_servers: str
    topic: str
    group: str = "lineage-graph"
    dead_letter_topic: str | None = None  # None: "<topic>.dead-letters"
    batch_size: int = 100  # messages per poll, written in one transaction
    max_message_bytes: int = 64 * 1024 * 1024
    poll_timeout_s: float = 1.0
    connect_timeout_s: float = 15.0  # to reach the cluster at start
    stop_when_idle_s: float | None = None  # None: run until stopped
    # Extra librdkafka settings for both the consumer and the dead-letter producer (security
    # protocol, SASL, TLS, timeouts).
    client_config: Mapping[str, str] = field(default_factory=dict)

    @property
    def dead_letters(self) -> str:
        return self.dead_letter_topic or f"{self.topic}.dead-letters"


# How often the consumer refreshes the cluster's metadata (client_config may set it otherwise).
TOPIC_RECHECK_MS = 10_000


@dataclass
class ConsumeTotals:
    accepted: int = 0
    duplicate: int = 0
    dead_lettered: int = 0
    batches: int = 0
    neo4j_retries: int = 0

    @property
    def consumed(self) -> int:
        return self.accepted + self.duplicate + self.dead_lettered

    def as_dict(self) -> dict[str, int]:
        return {"consumed": self.consumed, "accepted": self.accepted,
                "duplicate": self.duplicate, "deadLettered": self.dead_lettered,
                "batches": self.batches, "neo4jRetries": self.neo4j_retries}


@dataclass(frozen=True)
class DeadLetter:
    message: Message
    error: str
    field: str | None = None


class KafkaEventConsumer:
    """One member of a consumer group, writing what it reads through ``ingest``."""

    def __init__(self, ingest: IngestService, options: ConsumeOptions,
                 on_batch: Callable[[ConsumeTotals], None] | None = None) -> None:
        self.ingest = ingest
        self.options = options
        self.on_batch = on_batch
        self.totals = ConsumeTotals()
        self._backoff_s = 0.5

    def run(self, stop: threading.Event) -> ConsumeTotals:
        """Consume until ``stop`` is set (or the topic stays idle ``stop_when_idle_s``); then
        commit what was written and leave the group cleanly."""
        if self.options.dead_letters == self.options.topic:
            raise KafkaConsumeError(f"the dead-letter topic must not be the topic consumed "
                                    f"({self.options.topic}): a bad message would come back")
        consumer, producer = _clients(self.options)
        try:
            _check_reachable(consumer, self.options)
            consumer.subscribe([self.options.topic])
            idle_since = time.monotonic()
            while not stop.is_set():
                messages = consumer.consume(self.options.batch_size,
                                            timeout=self.options.poll_timeout_s)
                messages = [m for m in messages if _usable(m)]
                if not messages:
                    idle = self.options.stop_when_idle_s
                    if idle is not None and time.monotonic() - idle_since >= idle:
                        break
                    continue
                idle_since = time.monotonic()
                if self._handle(consumer, producer, messages, stop):
                    self.totals.batches += 1
                    if self.on_batch is not None:
                        self.on_batch(self.totals)
        finally:
            producer.flush(10)
            consumer.close()  # leaves the group: its partitions move at once
        return self.totals

    def _handle(self, consumer: Consumer, producer: Producer, messages: Sequence[Message],
                stop: threading.Event) -> bool:
        """Write one poll's messages and commit them; False when Neo4j was unreachable and
        the consumer rewound to retry them."""
        receipt = Receipt.now()
        valid: list[tuple[int, ParsedEvent]] = []
        letters: list[DeadLetter] = []
        for index, message in enumerate(messages):
            parsed = _parse(message, self.options.max_message_bytes)
            if isinstance(parsed, DeadLetter):
                letters.append(parsed)
            else:
                valid.append((index, parsed))
        try:
            outcomes = self._write(valid, [receipt] * len(messages))
        except Neo4jUnavailableError as exc:
            self.totals.neo4j_retries += 1
            log.warning("Neo4j unreachable (%s): nothing committed; reading again from the "
                        "first unwritten message in %.1f s", exc, self._backoff_s)
            _rewind(consumer, messages)
            stop.wait(self._backoff_s)  # a stop request ends the pause
            self._backoff_s = min(self._backoff_s * 2, MAX_BACKOFF_S)
            return False
        self._backoff_s = 0.5
        for outcome in outcomes:
            if outcome.status == "accepted":
                self.totals.accepted += 1
            elif outcome.status == "duplicate":
                self.totals.duplicate += 1
            else:  # refused by the database
                letters.append(DeadLetter(messages[outcome.index], outcome.error or "refused"))
        _send_dead_letters(producer, self.options.dead_letters, letters)
        self.totals.dead_lettered += len(letters)
        _commit(consumer, messages)
        return True


    def _write(self, events: list[tuple[int, ParsedEvent]],
               receipts: list[Receipt]) -> list[EventOutcome]:
        """Write a poll's events; a write too large or too slow for one transaction is split
        in halves, and an event that fails alone is refused (dead-lettered), so it can never
        hold its partition up."""
        if not events:
            return []
        try:
            return self.ingest.write_parsed(events, receipts)
        except (TransactionTooLargeError, QueryTimeoutError) as exc:
            if len(events) == 1:
                index, parsed = events[0]
                return [EventOutcome(index, "rejected", sha256=parsed.sha256, error=str(exc))]
            half = len(events) // 2
            return self._write(events[:half], receipts) + self._write(events[half:], receipts)


def _clients(options: ConsumeOptions) -> tuple[Consumer, Producer]:
    try:
        from confluent_kafka import Consumer, Producer
    except ImportError as exc:  # an optional extra
        raise KafkaConsumeError("the Kafka client is not installed: pip install "
                                "'lineage-graph[kafka]' (confluent-kafka)") from exc
    common = {"bootstrap.servers": options.bootstrap_servers, **options.client_config}
    try:
        consumer = Consumer({
            # A topic subscribed before it exists is looked for again this often: librdkafka's
            # default (5 minutes) left a consumer started before its topic idle that long.
            "topic.metadata.refresh.interval.ms": TOPIC_RECHECK_MS,
            **common,
            "group.id": options.group,
            # Offsets are committed by hand, after Neo4j committed; a new group starts at the
            # beginning of the topic, so no event sent before the first start is skipped.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
        })
        producer = Producer({**common, "enable.idempotence": True, "acks": "all",
                             "linger.ms": 5})
    except Exception as exc:  # librdkafka refuses an unknown or invalid setting
        raise KafkaConsumeError(f"the Kafka client refused its settings: {exc}") from exc
    return consumer, producer


def _check_reachable(consumer: Consumer, options: ConsumeOptions) -> None:
    """Fail at once, naming the servers, rather than poll an unreachable cluster forever."""
    from confluent_kafka import KafkaException

    try:
        consumer.list_topics(timeout=options.connect_timeout_s)
    except KafkaException as exc:
        raise KafkaConsumeError(f"cannot reach Kafka at {options.bootstrap_servers}: "
                                f"{exc.args[0] if exc.args else exc}") from exc


def _usable(message: Message) -> bool:
    """A message carries an event (or a bad payload for the dead-letter topic); an error
    event from the client is logged, and a fatal one stops the consumer."""
    error = message.error()
    if error is None:
        return True
    if error.fatal():
        raise KafkaConsumeError(f"Kafka client error: {error.str()}")
    log.warning("Kafka: %s", error.str())
    return False


def _parse(message: Message, max_bytes: int) -> ParsedEvent | DeadLetter:
    value = message.value()
    if value is None or not value:
        return DeadLetter(message, "the message has no value (an OpenLineage event is expected)")
    if len(value) > max_bytes:
        return DeadLetter(message, f"the message is {len(value)} bytes, over the limit of "
                                   f"{max_bytes} (LINEAGE_GRAPH_MAX_BODY_BYTES)")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return DeadLetter(message, f"the message is not UTF-8 text: {exc.reason} at byte "
                                   f"{exc.start}")
    try:
        return parse_event_text(text)
    except InvalidEventError as exc:
        return DeadLetter(message, str(exc), exc.field or None)


def _send_dead_letters(producer: Producer, topic: str, letters: Sequence[DeadLetter]) -> None:
    """Put each letter on the dead-letter topic and wait until Kafka has them all: an offset
    is committed only when its message is written or dead-lettered."""
    from confluent_kafka import KafkaException

    if not letters:
        return
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    for letter in letters:
        source = letter.message
        place = f"{source.topic()}/{source.partition()}/{source.offset()}"
        headers: list[tuple[str, str | bytes | None]] = [
            (ERROR_HEADER, letter.error.encode("utf-8")), (SOURCE_HEADER, place.encode())]
        if letter.field:
            headers.append((FIELD_HEADER, letter.field.encode("utf-8")))
        value = source.value()
        if value is not None and len(value) > MAX_DEAD_LETTER_VALUE_BYTES:
            headers += [(VALUE_BYTES_HEADER, str(len(value)).encode()),
                        (VALUE_SHA256_HEADER, hashlib.sha256(value).hexdigest().encode())]
            value = None
        log.warning("dead letter %s: %s", place, letter.error)
        try:
            producer.produce(topic, value=value, key=source.key(), headers=headers,
                             on_delivery=delivered)
        except BufferError:  # the producer's queue is full: let it drain, then once more
            producer.flush(30)
            producer.produce(topic, value=value, key=source.key(), headers=headers,
                             on_delivery=delivered)
        except KafkaException as exc:
            failures.append(str(exc.args[0] if exc.args else exc))
    left = producer.flush(30)
    if left or failures:
        raise KafkaConsumeError(
            f"{len(failures) or left} message(s) could not be put on the dead-letter topic "
            f"{topic} ({failures[0] if failures else 'timed out'}): stopping without "
            "committing them, so they are read again at the next start")


def _last_offsets(messages: Sequence[Message]) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (first offset, last offset) of the messages of a poll."""
    found: dict[tuple[str, int], tuple[int, int]] = {}
    for message in messages:
        place = (message.topic() or "", message.partition() or 0)
        offset = message.offset() or 0
        first, last = found.get(place, (offset, offset))
        found[place] = (min(first, offset), max(last, offset))
    return found


def _commit(consumer: Consumer, messages: Sequence[Message]) -> None:
    from confluent_kafka import KafkaException, TopicPartition

    offsets = [TopicPartition(topic, partition, last + 1)
               for (topic, partition), (_, last) in _last_offsets(messages).items()]
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    except KafkaException as exc:
        # The group moved a partition away meanwhile (a rebalance): its new owner reads these
        # messages again and finds them written, as duplicates. Nothing is lost.
        log.warning("commit refused (%s): the partition's next owner reads these messages "
                    "again, as duplicates", exc.args[0] if exc.args else exc)


def _rewind(consumer: Consumer, messages: Sequence[Message]) -> None:
    from confluent_kafka import KafkaException, TopicPartition

    for (topic, partition), (first, _) in _last_offsets(messages).items():
        try:
            consumer.seek(TopicPartition(topic, partition, first))
        except KafkaException as exc:  # no longer assigned: its next owner starts there
            log.info("not rewinding %s/%s: %s", topic, partition, exc)
