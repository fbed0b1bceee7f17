"""The event record is a hash chain: tampering through raw Cypher (modify, delete, insert,
reorder, truncate) is caught at the right record, by `ledger verify` and GraphQL verifyLedger."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database, resolve_password
from lineage_graph.ingest.service import IngestService
from lineage_graph.ledger.chain import GENESIS, chain_hash
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.openlineage.canonical import canonical_json
from lineage_graph.settings import Settings
from tests.events import T0, new_run_id, pipeline, run_event


def _write(db: Database, cypher: str, **params: Any) -> None:
    db.write(lambda tx: tx.run(cypher, params).consume())  # type: ignore[arg-type]


def _record(db: Database) -> int:
    events = pipeline(n_runs=2)  # 10 events, batch and single
    service = IngestService(db, chunk_size=4)
    service.ingest_raw([(e, None) for e in events[:7]])
    for event in events[7:]:
        service.ingest_raw([(event, json.dumps(event, indent=2))])
    return len(events)


RECORDS = """MATCH (e:Event) RETURN e.seq AS seq, e.sha256 AS sha, e.raw AS raw,
  e.recordType AS recordType, e.receivedAt.epochMillis AS ms, e.keyId AS keyId,
  e.prevHash AS prev, e.chainHash AS chain, e.chainVersion AS version ORDER BY seq"""


def _records(db: Database) -> list[dict[str, Any]]:
    return db.read(lambda tx: [r.data() for r in tx.run(RECORDS)])


def _documented_chain_hash(previous: str, row: dict[str, Any]) -> str:
    """docs/reliability.md's formula (chain version 2), with hashlib alone."""
    text = (f"v2|{previous}|{row['seq']}|{row['recordType']}|{row['sha']}|{row['ms']}|"
            f"{row['keyId'] or ''}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_an_untouched_record_verifies(db: Database) -> None:
    n = _record(db)
    report = verify_ledger(db, page=3)  # pages smaller than the record
    assert (report.ok, report.checked, report.first_bad_sequence) == (True, n, None)


def test_the_chain_follows_the_documented_formula(db: Database) -> None:
    """Recomputed independently of the code under test: canonical JSON (sorted keys, no
    whitespace, UTF-8 as is), its sha256, and the version 2 chain."""
    n = _record(db)
    previous = "0" * 64
    rows = _records(db)
    assert [r["seq"] for r in rows] == list(range(1, n + 1))
    for row in rows:
        canonical = json.dumps(json.loads(row["raw"]), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        assert row["sha"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        assert (row["version"], row["recordType"], row["keyId"]) == (2, "openlineage", None)
        assert row["prev"] == previous
        assert row["chain"] == _documented_chain_hash(previous, row)
        previous = row["chain"]
    head = db.read(lambda tx: tx.run("MATCH (s:Sequence {name: 'event'}) "
                                      "RETURN s.head AS head, s.value AS n").single())
    assert (head["head"], head["n"]) == (previous, n)


@pytest.mark.parametrize("change", [
    "SET e.keyId = 'aaaaaaaaaaaa'",  # claim another key sent it
    "SET e.receivedAt = e.receivedAt + duration({hours: 1})",  # claim another time
    "SET e.recordType = 'scene'",
])
def test_who_sent_a_record_and_when_are_in_the_chain(db: Database, change: str) -> None:
    _record(db)
    _write(db, "MATCH (e:Event {seq: 4}) " + change)
    report = verify_ledger(db)
    assert (report.ok, report.first_bad_sequence) == (False, 4)
    assert "chain hash does not match" in (report.reason or "")


def test_records_of_the_first_chain_version_still_verify(db: Database) -> None:
    """A ledger written before receipts were chained (version 1) verifies unchanged, and
    tampering with it is still caught."""
    _record(db)
    previous = GENESIS
    for row in _records(db):
        current = chain_hash(previous, row["seq"], row["sha"])
        _write(db, "MATCH (e:Event {seq: $seq}) REMOVE e.chainVersion, e.recordType, e.keyId "
                   "SET e.prevHash = $p, e.chainHash = $c", seq=row["seq"], p=previous,
               c=current)
        previous = current
    _write(db, "MATCH (s:Sequence {name: 'event'}) SET s.head = $h", h=previous)
    assert verify_ledger(db).ok
    _write(db, "MATCH (e:Event {seq: 6}) SET e.raw = replace(e.raw, 'lake', 'LAKE')")
    assert verify_ledger(db).first_bad_sequence == 6


def test_records_committed_during_verification_are_not_tampering(db: Database) -> None:
    """A live system keeps committing while `verifyLedger` pages through the record: the
    verification covers the record up to the head it read first, and reports it intact."""
    n = _record(db)
    service = IngestService(db)

    class BusyDatabase:
        """Commits one more event after every read the verification makes."""

        commits = 0

        def read(self, work: Callable[..., Any]) -> Any:
            result = db.read(work)
            if self.commits < 30:
                self.commits += 1
                event = run_event("COMPLETE", new_run_id(), ("airflow", "busy"), T0)
                service.ingest_raw([(event, None)])
            return result

    busy = BusyDatabase()
    report = verify_ledger(busy, page=3)  # type: ignore[arg-type]
    assert (report.ok, report.checked, report.reason) == (True, n, None)
    assert busy.commits > 1  # events were committed while it ran
    after = verify_ledger(db)
    assert (after.ok, after.checked) == (True, n + busy.commits)


def test_a_missing_head_over_existing_records_is_reported(db: Database) -> None:
    _record(db)
    _write(db, "MATCH (s:Sequence {name: 'event'}) DETACH DELETE s")
    report = verify_ledger(db)
    assert (report.ok, report.first_bad_sequence) == (False, 1)
    assert "head" in (report.reason or "")


def _forge(sha_of: str) -> str:
    return hashlib.sha256(canonical_json(json.loads(sha_of)).encode()).hexdigest()


TAMPERING: list[tuple[str, Callable[[Database], None], int, str]] = [
    ("modified event", lambda db: _write(
        db, "MATCH (e:Event {seq: 5}) SET e.raw = replace(e.raw, 'stage', 'STAGE')"),
     5, "was modified"),
    ("modified event with its sha256 recomputed", lambda db: _modify_and_rehash(db, 5),
     5, "chain hash does not match"),
    ("deleted record", lambda db: _write(db, "MATCH (e:Event {seq: 4}) DETACH DELETE e"),
     4, "is missing"),
    ("reordered records", lambda db: _write(db, """
        MATCH (a:Event {seq: 3}), (b:Event {seq: 6})
        SET a.seq = -1 SET b.seq = 3 SET a.seq = 6"""), 3, "does not follow"),
    ("inserted record", lambda db: _insert_after(db, 2), 3, "does not follow"),
    ("truncated tail", lambda db: _write(
        db, "MATCH (e:Event) WITH max(e.seq) AS last MATCH (e:Event {seq: last}) "
            "DETACH DELETE e"), 10, "the last records were deleted"),
]


def _modify_and_rehash(db: Database, seq: int) -> None:
    raw = db.read(lambda tx: tx.run("MATCH (e:Event {seq: $seq}) RETURN e.raw AS raw",
                                    seq=seq).single()["raw"])
    forged = raw.replace("stage", "STAGE")
    _write(db, "MATCH (e:Event {seq: $seq}) SET e.raw = $raw, e.sha256 = $sha", seq=seq,
           raw=forged, sha=_forge(forged))


def _insert_after(db: Database, seq: int) -> None:
    """Shift the records after `seq` up by one and insert a forged record, chained to nothing."""
    _write(db, "MATCH (e:Event) WHERE e.seq > $seq WITH e ORDER BY e.seq DESC "
               "SET e.seq = e.seq + 1000", seq=seq)
    _write(db, "MATCH (e:Event) WHERE e.seq > 1000 SET e.seq = e.seq - 999")
    raw = json.dumps({"eventType": "COMPLETE", "forged": True})
    _write(db, "CREATE (:Event {seq: $seq, raw: $raw, sha256: $sha, prevHash: 'x', "
               "chainHash: 'y'})", seq=seq + 1, raw=raw, sha=_forge(raw))


@pytest.mark.parametrize(("case", "tamper", "bad", "reason"), TAMPERING,
                         ids=[t[0] for t in TAMPERING])
def test_tampering_is_caught_at_the_record(db: Database, case: str,
                                           tamper: Callable[[Database], None], bad: int,
                                           reason: str) -> None:
    _record(db)
    tamper(db)
    report = verify_ledger(db, page=4)
    assert not report.ok, case
    assert report.first_bad_sequence == bad, report
    assert report.reason is not None and reason in report.reason, report.reason


def test_graphql_and_cli_report_the_ledger(client: TestClient, db: Database,
                                           neo4j_server: Settings) -> None:
    _record(db)
    q = "{ verifyLedger { ok checked firstBadSequence reason } }"
    assert client.post("/graphql", json={"query": q}).json()["data"]["verifyLedger"] == {
        "ok": True, "checked": 10, "firstBadSequence": None, "reason": None}
    env = {"NEO4J_URI": neo4j_server.bolt_uri, "NEO4J_USER": neo4j_server.neo4j_user,
           "NEO4J_PASSWORD": resolve_password(neo4j_server), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "lineage_graph.cli", "ledger", "verify"]
    ok = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "ledger ok: 10 records" in ok.stdout
    _write(db, "MATCH (e:Event {seq: 7}) SET e.raw = replace(e.raw, 'lake', 'LAKE')")
    broken = client.post("/graphql", json={"query": q}).json()["data"]["verifyLedger"]
    assert (broken["ok"], broken["firstBadSequence"], broken["checked"]) == (False, 7, 6)
    bad = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and "at record 7" in bad.stderr


def _rewrite_with_chain(db: Database, seq: int) -> None:
    """The attack the chain alone cannot show: modify a record, recompute its sha256 and every
    chain hash from there, and the head."""
    _modify_and_rehash(db, seq)
    previous = GENESIS
    for row in _records(db):
        current = _documented_chain_hash(previous, row)
        _write(db, "MATCH (e:Event {seq: $seq}) SET e.prevHash = $p, e.chainHash = $c",
               seq=row["seq"], p=previous, c=current)
        previous = current
    _write(db, "MATCH (s:Sequence {name: 'event'}) SET s.head = $h", h=previous)


def test_signed_checkpoints_catch_a_rewritten_chain(db: Database, neo4j_server: Settings,
                                                    tmp_path: Any) -> None:
    from lineage_graph.ledger.checkpoints import (
        generate_keypair,
        make_checkpoint,
        verify_checkpoint,
    )

    private, public = tmp_path / "ledger.key", tmp_path / "ledger.pub"
    generate_keypair(private, public)
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    _record(db)
    checkpoint = make_checkpoint(db, private)
    assert checkpoint["seq"] == 10
    assert verify_checkpoint(db, checkpoint, public).ok

    forged = dict(checkpoint, seq=9)
    report = verify_checkpoint(db, forged, public)
    assert not report.ok and report.reason is not None and "signature" in report.reason

    _rewrite_with_chain(db, 4)
    assert verify_ledger(db).ok  # the chain alone cannot tell
    report = verify_checkpoint(db, checkpoint, public)
    assert (report.ok, report.first_bad_sequence) == (False, 10)
    assert report.reason is not None and "was rewritten" in report.reason

    # The CLI: keygen refuses to overwrite, checkpoint + verify exit codes.
    env = {"NEO4J_URI": neo4j_server.bolt_uri, "NEO4J_USER": neo4j_server.neo4j_user,
           "NEO4J_PASSWORD": resolve_password(neo4j_server), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "lineage_graph.cli", "ledger"]
    again = subprocess.run([*cli, "keygen", "--private-key", str(private), "--public-key",
                            str(public)], capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 1 and "not overwriting" in again.stderr
    saved = tmp_path / "checkpoint.json"
    made = subprocess.run([*cli, "checkpoint", "--key", str(private), "--out", str(saved)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    ok = subprocess.run([*cli, "verify", "--checkpoint", str(saved), "--public-key",
                         str(public), "--full"], capture_output=True, text=True, env=env,
                        timeout=120)
    # A checkpoint signed after the rewrite agrees with the rewritten chain, but the rewritten
    # record names a job the graph never held: the projection check reports it.
    assert "ledger ok" in ok.stdout, ok.stderr
    assert ok.returncode == 1 and "record 4: missing job spark:STAGE_1" in ok.stderr
    stale = tmp_path / "old.json"
    stale.write_text(json.dumps(checkpoint))
    bad = subprocess.run([*cli, "verify", "--checkpoint", str(stale), "--public-key",
                          str(public)], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and "was rewritten" in bad.stderr


def test_the_sending_key_and_the_receive_time_are_recorded(db: Database,
                                                           neo4j_server: Settings) -> None:
    from dataclasses import replace

    from lineage_graph.auth.keys import ApiKeyService
    from lineage_graph.web.app import create_app
    from tests.conftest import LOCAL_BASE_URL

    record, key = ApiKeyService(db).create("emitter", ["ingest"])
    event = run_event("COMPLETE", new_run_id(), ("airflow", "keyed"), T0)
    with TestClient(create_app(replace(neo4j_server, auth="on")),
                    base_url=LOCAL_BASE_URL) as client:
        before = int(time.time() * 1000)
        answer = client.post("/api/v1/lineage", json=event,
                             headers={"Authorization": f"Bearer {key}"})
        after = int(time.time() * 1000)
    assert answer.status_code == 201
    created, row = _records(db)  # the key's creation is a record too
    assert (created["recordType"], created["keyId"]) == ("apiKey", None)  # by the CLI
    assert row["keyId"] == record["keyId"]
    assert before <= row["ms"] <= after
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert answer.json()["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert verify_ledger(db).ok


def test_a_spooled_event_keeps_the_receipt_it_arrived_with(db: Database,
                                                           tmp_path: Path) -> None:
    from lineage_graph.ingest.durable import DurableIngest
    from lineage_graph.ingest.spool import Spool
    from lineage_graph.ledger.receipt import Receipt
    from lineage_graph.openlineage.parse import parse_event

    parsed = parse_event(run_event("COMPLETE", new_run_id(), ("airflow", "late"), T0))
    spool = Spool(tmp_path)
    spool.append([(parsed.sha256, parsed.text)], Receipt(1_700_000_000_123, "0123456789ab"))
    DurableIngest(IngestService(db), spool, db).drain()
    [row] = _records(db)
    assert (row["ms"], row["keyId"]) == (1_700_000_000_123, "0123456789ab")
    assert verify_ledger(db).ok


def test_a_checkpoint_is_a_record_and_its_node_is_checked(db: Database, tmp_path: Path) -> None:
    from lineage_graph.ingest.projection import check_projection
    from lineage_graph.ingest.rebuild import rebuild
    from lineage_graph.ledger.checkpoints import generate_keypair, make_checkpoint

    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    n = _record(db)
    checkpoint = make_checkpoint(db, tmp_path / "k")
    rows = _records(db)
    assert [r["recordType"] for r in rows][-1] == "checkpoint" and len(rows) == n + 1
    assert json.loads(rows[-1]["raw"]) == checkpoint
    assert verify_ledger(db).ok and check_projection(db, full=True).ok
    rebuild(db)  # keeps the checkpoint node, replays around its record
    assert check_projection(db, full=True).ok
    _write(db, "MATCH (c:LedgerCheckpoint) DETACH DELETE c")
    [(seq, what)] = check_projection(db, full=True).missing
    assert (seq, what) == (n + 1, f"ledger checkpoint of record {n}")
