"""Prometheus metrics, served at ``/metrics``: ingestion outcomes, spool depth, Neo4j errors,
request latency, what the lineage costs to keep, the garbage collector's tuning."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter("lineage_graph_events", "Events by outcome",
                              ["status"], registry=self.registry)
        self.spooled = Counter("lineage_graph_events_spooled",
                               "Events written to the spool (Neo4j unavailable)",
                               registry=self.registry)
        self.spool_depth = Gauge("lineage_graph_spool_depth", "Spooled events not applied yet",
                                 registry=self.registry)
        self.spool_quarantined = Counter(
            "lineage_graph_spool_quarantined", "Corrupt spool lines moved to the quarantine file",
            registry=self.registry)
        self.dead_lettered = Counter(
            "lineage_graph_dead_lettered", "Spooled events the database refused, set aside",
            registry=self.registry)
        self.dead_letters = Gauge(
            "lineage_graph_dead_letters", "Dead letters waiting for `spool retry` or `discard`",
            registry=self.registry)
        self.neo4j_errors = Counter("lineage_graph_neo4j_errors",
                                    "Neo4j unavailable or refusing work",
                                    registry=self.registry)
        self.request_seconds = Histogram(
            "lineage_graph_request_seconds", "Request latency by route kind",
            ["kind"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        # What the lineage costs to keep (lineage_graph.usage, docs/costs.md).
        self.nodes = Gauge("lineage_graph_nodes", "Nodes by label (Neo4j's count store)",
                           ["label"], registry=self.registry)
        self.relationships = Gauge("lineage_graph_relationships", "Relationships by type",
                                   ["type"], registry=self.registry)
        self.records_last_day = Gauge("lineage_graph_records_last_day",
                                      "Records received in the last 24 hours",
                                      registry=self.registry)
        self.store_bytes = Gauge("lineage_graph_store_bytes",
                                 "Bytes of the managed Neo4j's store on disk",
                                 registry=self.registry)
        self.transaction_log_bytes = Gauge(
            "lineage_graph_transaction_log_bytes",
            "Bytes of the managed Neo4j's transaction logs on disk", registry=self.registry)
        self.budget = Gauge("lineage_graph_budget", "Configured budgets (absent: none)",
                            ["budget"], registry=self.registry)
        self.budget_exceeded = Gauge("lineage_graph_budget_exceeded",
                                     "1 when a budget is exceeded, else 0", ["budget"],
                                     registry=self.registry)
        # Whether this process's garbage collector is tuned (gc_tuning.py), read when scraped.
        self.gc_frozen_objects = Gauge(
            "lineage_graph_gc_frozen_objects",
            "Objects frozen at start-up, never walked by the garbage collector (0: not tuned)",
            registry=self.registry)
        self.gc_frozen_objects.set_function(gc.get_freeze_count)
        self.gc_young_threshold = Gauge(
            "lineage_graph_gc_young_threshold",
            "Allocations between two young-generation collections (Python's default: 700)",
            registry=self.registry)
        self.gc_young_threshold.set_function(lambda: gc.get_threshold()[0])
        self.thread_switch_interval = Gauge(
            "lineage_graph_thread_switch_interval_seconds",
            "How soon a thread waiting for the GIL gets it (process_tuning.py; Python's "
            "default: 0.005)", registry=self.registry)
        self.thread_switch_interval.set_function(sys.getswitchinterval)

    def count_outcomes(self, outcomes: Iterable[_Outcome]) -> None:
        for outcome in outcomes:
            self.events.labels(status=outcome.status).inc()

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


METRICS = Metrics()
