"""`lineage-graph consume`: OpenLineage events from a Kafka topic (docs/scaling.md#kafka)."""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Annotated, Any

import typer

from lineage_graph.cli.common import console, ensure_neo4j, fail, load_settings, open_database, out

PROGRESS_EVERY_S = 10.0
MAX_BATCH = 10_000  # messages per poll: one write transaction (librdkafka takes up to 1M)


def consume(
    bootstrap_servers: Annotated[str, typer.Option(
        "--bootstrap-servers", help="Kafka's HOST:PORT[,HOST:PORT...].")],
    topic: Annotated[str, typer.Option(help="The topic OpenLineage emitters write to.")],
    group: Annotated[str, typer.Option(
        help="Consumer group: consumers of one group share the topic's partitions.")
    ] = "lineage-graph",
    dead_letter_topic: Annotated[str | None, typer.Option(
        help="Where invalid messages go, with the reason in their headers "
             "(default: <topic>.dead-letters).")] = None,
    batch: Annotated[int, typer.Option(
        help="Messages per poll, written in one transaction.")] = 0,
    config: Annotated[list[str] | None, typer.Option(
        "--config", "-c", help="KEY=VALUE librdkafka setting for the consumer and the "
                               "dead-letter producer (e.g. security.protocol=SASL_SSL); "
                               "repeatable.")] = None,
    stop_when_idle: Annotated[float | None, typer.Option(
        help="Stop after this many seconds without a message (a one-off backfill); default: "
             "run until SIGTERM or Ctrl-C.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The final totals as one JSON object."
                                          )] = False,
) -> None:
    """Consume OpenLineage events from Kafka through the HTTP endpoint's validation and write
    path; commit offsets only after Neo4j committed (a crash replays, harmlessly); send invalid
    messages to a dead-letter topic. SIGTERM or Ctrl-C finishes the current poll, commits it and
    leaves the group."""
    from lineage_graph.db.migrations import migrate
    from lineage_graph.ingest.kafka_source import ConsumeOptions, ConsumeTotals, KafkaEventConsumer
    from lineage_graph.ingest.plan_refresh import WritePlanRefresher
    from lineage_graph.ingest.service import IngestService
    from lineage_graph.process_tuning import tune_process

    settings = load_settings()
    if not 0 <= batch <= MAX_BATCH or (stop_when_idle is not None and stop_when_idle <= 0):
        raise fail(f"--batch must be 1 to {MAX_BATCH} and --stop-when-idle positive")
    options = ConsumeOptions(
        bootstrap_servers=bootstrap_servers, topic=topic, group=group,
        dead_letter_topic=dead_letter_topic, batch_size=batch or settings.write_chunk_events,
        max_message_bytes=settings.max_body_bytes, stop_when_idle_s=stop_when_idle,
        client_config=_client_config(config or []))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    started = time.monotonic()
    last_report = [started]

    def report(totals: ConsumeTotals) -> None:
        now = time.monotonic()
        if now - last_report[0] >= PROGRESS_EVERY_S:
            last_report[0] = now
            console.print(_summary(totals, now - started), highlight=False)

    ensure_neo4j(settings, quiet=True)
    with open_database(settings) as db:
        migrate(db)
        console.print(f"consuming {topic} from {bootstrap_servers} as group {group} "
                      f"(dead letters: {options.dead_letters})", highlight=False)
        tune_process(settings)  # a long-running process from here
        with WritePlanRefresher(db):
            totals = KafkaEventConsumer(IngestService(db, options.batch_size), options,
                                        on_batch=report).run(stop)
    if as_json:
        out.print(json.dumps(totals.as_dict()), highlight=False, markup=False, soft_wrap=True)
    else:
        out.print(_summary(totals, time.monotonic() - started), highlight=False)


def _client_config(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise fail(f"--config {pair!r}: expected KEY=VALUE")
        found[key.strip()] = value.strip()
    return found


def _summary(totals: Any, seconds: float) -> str:
    rate = totals.consumed / seconds if seconds > 0 else 0.0
    return (f"consumed {totals.consumed} (accepted {totals.accepted}, duplicate "
            f"{totals.duplicate}, dead-lettered {totals.dead_lettered}) in {seconds:.1f} s, "
            f"{rate:.1f} messages/s")
