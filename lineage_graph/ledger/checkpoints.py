"""Signed checkpoints of the ledger head: what the hash chain alone cannot show.

Someone able to write to Neo4j could rewrite a record *and* every chain hash after it, and the
head: the chain would verify. A checkpoint is the head at a moment (``seq``, ``head``, ``at``)
signed with an Ed25519 key kept outside the database; kept elsewhere (a file, a ticket, another
system), it lets anyone with the public key check that the record up to ``seq`` is still the
one that was signed. Make one periodically (``lineage-graph ledger checkpoint`` from cron).
A checkpoint is itself a record of the chain (``recordType: checkpoint``), written with its
``:LedgerCheckpoint`` node.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import neo4j
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lineage_graph.db import event_records
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError
from lineage_graph.ledger import append
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.ledger.verify import LedgerReport, verify_ledger


def generate_keypair(private_path: Path, public_path: Path) -> None:
    """Write a new Ed25519 key pair as PEM; the private key readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def make_checkpoint(db: Database, private_key: Path) -> dict[str, Any]:
    """Sign the current head; the checkpoint is also kept in the graph (:LedgerCheckpoint)."""
    key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidRequestError(f"{private_key} is not an Ed25519 private key", field="key")
    head = db.read(event_records.sequence_head) or {}
    if not head.get("value"):
        raise InvalidRequestError("the event record is empty: nothing to sign")
    checkpoint = {"seq": int(head["value"]), "head": head["head"],
                  "at": datetime.now(UTC).isoformat()}
    checkpoint["signature"] = base64.b64encode(key.sign(_message(checkpoint))).decode()

    def work(tx: neo4j.ManagedTransaction) -> None:
        def store() -> tuple[None, bool]:
            event_records.store_checkpoint(tx, checkpoint)
            return None, True

        append.record_change(tx, "checkpoint", "LedgerCheckpoint",
                                     str(checkpoint["seq"]), checkpoint, Receipt.now().row(),
                                     store)

    db.write(work)
    return checkpoint


def verify_checkpoint(db: Database, checkpoint: dict[str, Any], public_key: Path) -> LedgerReport:
    """The chain verifies, the checkpoint's signature is good, and the record at its ``seq``
    still has the signed chain hash."""
    key = serialization.load_pem_public_key(public_key.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidRequestError(f"{public_key} is not an Ed25519 public key", field="publicKey")
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), _message(checkpoint))
    except (InvalidSignature, KeyError, ValueError):
        return LedgerReport(False, 0, None, "the checkpoint's signature does not match its "
                                            "content or this public key")
    report = verify_ledger(db)
    if not report.ok:
        return report
    seq = int(checkpoint["seq"])
    signed = db.read(partial(event_records.chain_hash_at, seq=seq))
    if signed != checkpoint["head"]:
        return LedgerReport(False, report.checked, seq,
                            f"record {seq} no longer has the chain hash signed at "
                            f"{checkpoint['at']}: the record up to it was rewritten")
    return report


def _message(checkpoint: dict[str, Any]) -> bytes:
    return f"lineage-graph-ledger|{checkpoint['seq']}|{checkpoint['head']}|{checkpoint['at']}" \
        .encode()
