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
(``lineage_graph.ledger.checkpoints``) reveal.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lineage_graph.db.lineage_rows import ChainedRecordRow, RecordRow

GENESIS = "0" * 64
CHAIN_VERSION = 2


def chain_hash(previous: str, seq: int, event_sha256: str) -> str:
    """Version 1, for records written before receipts were chained."""
    return hashlib.sha256(f"{previous}|{seq}|{event_sha256}".encode()).hexdigest()


def chain_hash_v2(previous: str, seq: int, record_type: str, record_sha256: str,
                  received_at_ms: int, key_id: str | None) -> str:
    text = (f"v2|{previous}|{seq}|{record_type}|{record_sha256}|{received_at_ms}|"
            f"{key_id or ''}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_events(events: list[RecordRow[str]], base: int, head: str | None
                 ) -> tuple[list[ChainedRecordRow], str]:
    """Number and chain record rows (each with ``recordType``, ``sha256``, ``receivedAtMs``
    and ``keyId``) after the record's last ``base`` and ``head``; returns the rows and the new
    head."""
    previous = head or GENESIS
    chained: list[ChainedRecordRow] = []
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
