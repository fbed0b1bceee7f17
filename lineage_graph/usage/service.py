"""Usage and budgets (docs/costs.md). ``stats`` reads every record once (for `lineage-graph
stats`); ``gauges`` reads only Neo4j's count store, the last day's records through the
receivedAt index and the managed store's files, and is what /metrics and /healthz show."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lineage_graph.db import usage as q
from lineage_graph.db.connection import Database
from lineage_graph.db.usage import GraphCounts
from lineage_graph.neo4j_server import managed_disk_usage
from lineage_graph.settings import Settings

GAUGE_SECONDS = 30.0  # how long /metrics and /healthz reuse one reading


@dataclass(frozen=True)
class Gauges:
    """The cheap readings, and which budgets they exceed."""

    counts: GraphCounts  # nodes and relationships, by label and type (the count store)
    records_last_day: int
    store_bytes: int | None  # None: not a managed instance (its files are not ours to read)
    transaction_log_bytes: int | None
    budgets: dict[str, int | None]
    exceeded: dict[str, str]  # budget name -> what exceeds it, for each budget exceeded


@dataclass(frozen=True)
class UsageStats:
    gauges: Gauges
    records_by_type: dict[str, dict[str, int]]  # record type -> records, bytes
    record_bytes: int
    records: int
    records_per_day: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        g, counts = self.gauges, self.gauges.counts
        prims, labels = counts.by_label.get("Prim", 0), counts.by_label.get("Label", 0)
        return {
            "nodes": counts.nodes, "relationships": counts.relationships,
            "nodesByLabel": {k: v for k, v in sorted(counts.by_label.items()) if v},
            "relationshipsByType": {k: v for k, v in sorted(counts.by_type.items()) if v},
            "records": self.records, "recordBytes": self.record_bytes,
            "recordsByType": self.records_by_type,
            "storeBytes": g.store_bytes, "transactionLogBytes": g.transaction_log_bytes,
            # The store is not split by kind on disk: these divide the whole store.
            "bytesPerRecord": _per(self.record_bytes, self.records),
            "storeBytesPerRecord": _per(g.store_bytes, self.records),
            "storeBytesPerPrim": _per(g.store_bytes, prims),
            "storeBytesPerLabel": _per(g.store_bytes, labels),
            "recordsLastDay": g.records_last_day,
            "recordsPerDay": self.records_per_day,
            "budgets": g.budgets, "exceeded": g.exceeded,
        }


class UsageService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._lock = threading.Lock()
        self._last: tuple[float, Gauges] | None = None

    def gauges(self, fresh: bool = False) -> Gauges:
        """The cheap readings, reused for GAUGE_SECONDS (scrapes and health checks come often;
        the figures move slowly)."""
        with self._lock:
            if not fresh and self._last is not None and (
                    time.monotonic() - self._last[0] < GAUGE_SECONDS):
                return self._last[1]
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        # One attempt each: /metrics and /healthz must answer at once while Neo4j is down.
        counts = self.db.read_once(q.graph_counts)
        last_day = self.db.read_once(lambda tx: q.records_received_since(tx, since))
        disk = managed_disk_usage(self.settings)
        store = None if disk is None else disk.store_bytes
        budgets = {"recordsPerDay": self.settings.budget_records_per_day,
                   "storeBytes": self.settings.budget_store_bytes}
        exceeded: dict[str, str] = {}
        if budgets["recordsPerDay"] is not None and last_day > budgets["recordsPerDay"]:
            exceeded["recordsPerDay"] = (
                f"{last_day} records received in the last 24 h, over the budget of "
                f"{budgets['recordsPerDay']} (LINEAGE_GRAPH_BUDGET_RECORDS_PER_DAY)")
        if budgets["storeBytes"] is not None and store is not None and store > budgets[
                "storeBytes"]:
            exceeded["storeBytes"] = (
                f"the store holds {store} bytes, over the budget of {budgets['storeBytes']} "
                "(LINEAGE_GRAPH_BUDGET_STORE_BYTES)")
        gauges = Gauges(counts=counts, records_last_day=last_day, store_bytes=store,
                        transaction_log_bytes=None if disk is None else disk.transaction_log_bytes,
                        budgets=budgets, exceeded=exceeded)
        with self._lock:
            self._last = (time.monotonic(), gauges)
        return gauges

    def stats(self, days: int = 7) -> UsageStats:
        """Everything `lineage-graph stats` prints: the gauges, the size of the record (reads
        every record once) and the records received on each of the last ``days`` days."""
        if days < 1:
            raise ValueError("days must be at least 1")
        gauges = self.gauges(fresh=True)
        by_type = {row["recordType"]: {"records": int(row["records"]),
                                       "bytes": int(row["bytes"] or 0)}
                   for row in self.db.read(q.record_size)}
        start = datetime.now(UTC).date() - timedelta(days=days - 1)
        since = datetime(start.year, start.month, start.day, tzinfo=UTC).isoformat()
        per_day = {row["day"]: int(row["records"])
                   for row in self.db.read(lambda tx: q.records_per_day(tx, since))}
        days_list = [(start + timedelta(days=i)).isoformat() for i in range(days)]
        return UsageStats(
            gauges=gauges, records_by_type=by_type,
            records=sum(v["records"] for v in by_type.values()),
            record_bytes=sum(v["bytes"] for v in by_type.values()),
            records_per_day=[{"day": d, "records": per_day.get(d, 0)} for d in days_list])


def _per(total: int | None, count: int) -> float | None:
    return None if total is None or count == 0 else round(total / count, 1)

