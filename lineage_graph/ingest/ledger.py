"""The event record as a hash chain: each record stores the previous record's chain hash and
its own. Modifying, deleting, inserting or reordering a record breaks the chain at that record;
deleting the last records disagrees with the chain head kept on ``:Sequence``.

Two formulas, told apart by the record's ``chainVersion``:

- version 2 (every record written since 0.2): ``sha256("v2|" prev "|" seq "|" recordType "|"
  sha256 "|" receivedAt "|" keyId)``, where ``sha256`` is the hash of the record's canonical
  JSON, ``receivedAt`` the receive time in epoch milliseconds and ``keyId`` the id of the API
  key that sent it (empty when none did: auth off, or the CLI on this machine). When and by whom
  a record arrived is part of what the chain proves.
- version 1 (records written before): ``sha256(prev "|" seq "|" sha256)``.

The chain makes tampering evident to anyone who can recompute it; someone able to rewrite the
whole chain and its head can hide a change, which signed checkpoints of the head
(``lineage_graph.ingest.checkpoints``) reveal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from lineage_graph.db import event_records
from lineage_graph.db.connection import Database
from lineage_graph.openlineage.canonical import canonical_json

GENESIS = "0" * 64


CHAIN_VERSION = 2


@dataclass(frozen=True)
class Receipt:
    """When the platform received a write, and the id of the API key that sent it (None when
    none did). Taken when the request arrives, kept through the spool, hashed into the chain."""

    received_at_ms: int
    key_id: str | None = None

    @classmethod
    def now(cls, key_id: str | None = None) -> Receipt:
        return cls(int(time.time() * 1000), key_id)

    def row(self) -> dict[str, Any]:
        """The record properties this receipt sets (see RECORD_EVENTS)."""
        return {"receivedAtMs": self.received_at_ms, "keyId": self.key_id}


def chain_hash(previous: str, seq: int, event_sha256: str) -> str:
    """Version 1, for records written before receipts were chained."""
    return hashlib.sha256(f"{previous}|{seq}|{event_sha256}".encode()).hexdigest()


def chain_hash_v2(previous: str, seq: int, record_type: str, record_sha256: str,
                  received_at_ms: int, key_id: str | None) -> str:
    text = (f"v2|{previous}|{seq}|{record_type}|{record_sha256}|{received_at_ms}|"
            f"{key_id or ''}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_events(events: list[dict[str, Any]], base: int, head: str | None
                 ) -> tuple[list[dict[str, Any]], str]:
    """Number and chain record rows (each with ``recordType``, ``sha256``, ``receivedAtMs``
    and ``keyId``) after the record's last ``base`` and ``head``; returns the rows and the new
    head."""
    previous = head or GENESIS
    chained = []
    for offset, event in enumerate(events, start=1):
        seq = base + offset
        current = chain_hash_v2(previous, seq, event["recordType"], event["sha256"],
                                event["receivedAtMs"], event["keyId"])
        chained.append({**event, "seq": seq, "prevHash": previous, "chainHash": current,
                        "chainVersion": CHAIN_VERSION})
        previous = current
    return chained, previous


def expected_chain_hash(previous: str, row: dict[str, Any]) -> str:
    """What a stored record's chain hash must be, by its chain version."""
    if row.get("chainVersion") == CHAIN_VERSION:
        return chain_hash_v2(previous, row["seq"], row["recordType"], row["sha256"],
                             row["receivedAtMs"], row["keyId"])
    return chain_hash(previous, row["seq"], row["sha256"])


@dataclass(frozen=True)
class LedgerReport:
    ok: bool
    checked: int
    first_bad_sequence: int | None = None
    reason: str | None = None


def verify_ledger(db: Database, page: int = 5000) -> LedgerReport:
    """Recompute the chain in sequence order, up to the head as it was when verification began.

    The head is read first: records committed while this runs come after it and are outside
    this verification, so a busy live system is never reported as tampered with. Records are
    read ``page`` at a time and dropped once checked, so memory stays bounded by one page."""
    head = db.read(event_records.sequence_head) or {}
    last, head_hash = int(head.get("value") or 0), head.get("head")
    expected, previous, checked = 1, GENESIS, 0
    while expected <= last:
        rows = db.read(partial(event_records.ledger_page, after=expected - 1,
                               limit=min(page, last - expected + 1)))
        if not rows:
            break
        for row in rows:
            seq = row["seq"]
            if seq != expected:
                return LedgerReport(False, checked, min(seq, expected),
                                    f"record {expected} is missing (deleted), or a record was "
                                    f"inserted or renumbered before {seq}")
            try:
                actual = hashlib.sha256(
                    canonical_json(json.loads(row["raw"])).encode("utf-8")).hexdigest()
            except (TypeError, ValueError):
                actual = None
            if actual != row["sha256"]:
                return LedgerReport(False, checked, seq,
                                    f"record {seq} was modified: its event no longer matches "
                                    "its sha256")
            if row["prevHash"] != previous:
                return LedgerReport(False, checked, seq,
                                    f"record {seq} does not follow record {seq - 1} (a record "
                                    "was deleted, inserted or reordered)")
            if row["chainHash"] != expected_chain_hash(previous, row):
                return LedgerReport(False, checked, seq,
                                    f"record {seq}'s chain hash does not match its content")
            previous = row["chainHash"]
            expected += 1
            checked += 1
    if checked != last or (checked and head_hash != previous):
        return LedgerReport(False, checked, checked + 1,
                            f"the chain head says {last} records but {checked} were found: "
                            "the last records were deleted, or the head was altered")
    if last == 0 and (db.read(partial(event_records.ledger_page, after=0, limit=1))):
        return LedgerReport(False, 0, 1, "records exist but the chain head is missing or zero: "
                                         "the head was altered")
    return LedgerReport(True, checked)


class SharedVerification:
    """At most one verification in flight; every caller that asks meanwhile gets its report.

    A verification reads the whole record. Ten aliased ``verifyLedger`` fields, or ten
    dashboards polling, would otherwise do that work ten times over, holding ten worker threads
    and the CPU that ingestion needs. Bound to the event loop of the app that built it."""

    def __init__(self, db: Database,
                 verify: Callable[[Database], LedgerReport] = verify_ledger) -> None:
        self.db = db
        self._verify = verify
        self._running: asyncio.Future[LedgerReport] | None = None
        # The last verification this process finished: (when it finished, its report).
        self.last: tuple[datetime, LedgerReport] | None = None

    async def verify(self) -> LedgerReport:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(asyncio.to_thread(self._verify, self.db))
        # shield: one caller giving up (a dropped connection) must not cancel the others' run.
        report = await asyncio.shield(self._running)
        self.last = (datetime.now(UTC), report)
        return report

    def records(self) -> int:
        """How many records the ledger holds (its head's sequence number)."""
        head = self.db.read(event_records.sequence_head)
        return int(head["value"] or 0) if head else 0
