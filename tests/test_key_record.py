"""Creating and revoking an API key are records in the hash chain, so a key forged, re-keyed or
un-revoked through raw Cypher (someone with database write access) is reported by
`ledger verify`, and `db rebuild` keeps keys."""

from __future__ import annotations

import hashlib
import json

import pytest

from lineage_graph.auth.keys import ApiKeyService
from lineage_graph.db.connection import Database
from lineage_graph.ingest.projection import check_projection
from lineage_graph.ingest.rebuild import rebuild
from lineage_graph.ingest.service import IngestService
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.settings import Settings
from tests.conftest import query
from tests.events import pipeline
from tests.test_cli import cli


def _write(db: Database, cypher: str) -> None:
    db.write(lambda tx: tx.run(cypher).consume())  # type: ignore[arg-type]


def test_creating_and_revoking_a_key_are_records(db: Database) -> None:
    keys = ApiKeyService(db)
    row, key = keys.create("airflow-prod", ["ingest"], Receipt(1_700_000_000_000, "aaaaaaaaaaaa"))
    keys.revoke(row["keyId"])
    keys.revoke(row["keyId"])  # again: nothing new to record
    records = query(db, """MATCH (e:Event {recordType: 'apiKey'})
        RETURN e.kind AS kind, e.subject AS subject, e.raw AS raw, e.keyId AS by,
               e.receivedAt.epochMillis AS ms ORDER BY e.seq""")
    assert [(r["kind"], r["subject"]) for r in records] == [
        ("ApiKeyCreated", row["keyId"]), ("ApiKeyRevoked", row["keyId"])]
    created = json.loads(records[0]["raw"])
    secret = key.split("_", 2)[2]
    assert created == {"action": "create", "keyId": row["keyId"], "name": "airflow-prod",
                       "scopes": ["ingest"],
                       "secretHash": hashlib.sha256(secret.encode()).hexdigest()}
    assert secret not in records[0]["raw"]  # the hash, never the key
    assert (records[0]["by"], records[0]["ms"]) == ("aaaaaaaaaaaa", 1_700_000_000_000)
    assert verify_ledger(db).ok and check_projection(db).ok


FORGERIES = [
    ("an admin key created through Cypher",
     "CREATE (:ApiKey {keyId: 'f0f0f0f0f0f0', name: 'backdoor', scopes: ['admin'], "
     "secretHash: 'x', createdAt: datetime()})",
     "API key f0f0f0f0f0f0 (backdoor): a key no record created"),
    ("a key's secret hash replaced",
     "MATCH (k:ApiKey {name: 'ci'}) SET k.secretHash = 'attacker'",
     "with its recorded secret hash"),
    ("a key's scopes raised to admin",
     "MATCH (k:ApiKey {name: 'ci'}) SET k.scopes = ['admin']", "secret hash, scopes and name"),
    ("a forged key next to a revocation record retagged as its creation",
     "MATCH (e:Event {kind: 'ApiKeyRevoked'}) SET e.kind = 'ApiKeyCreated', "
     "e.subject = 'f0f0f0f0f0f0' "
     "CREATE (:ApiKey {keyId: 'f0f0f0f0f0f0', name: 'backdoor', scopes: ['admin'], "
     "secretHash: 'x', createdAt: datetime()})",
     "API key f0f0f0f0f0f0 (backdoor): a key no record created"),
    ("a revocation removed", "MATCH (k:ApiKey {name: 'old'}) REMOVE k.revokedAt",
     "revocation of API key"),
]


@pytest.mark.parametrize(("case", "forge", "reported"), FORGERIES,
                         ids=[f[0] for f in FORGERIES])
def test_a_key_changed_behind_the_records_back_is_reported(
        db: Database, neo4j_server: Settings, case: str, forge: str, reported: str) -> None:
    keys = ApiKeyService(db)
    keys.create("ci", ["ingest"])
    old, _ = keys.create("old", ["read"])
    keys.revoke(old["keyId"])
    IngestService(db).ingest_raw([(e, None) for e in pipeline(n_runs=2)])
    _write(db, forge)
    assert verify_ledger(db).ok  # the chain is intact: only the graph was changed
    report = check_projection(db, sample=1)  # keys are checked in full even in a sample
    assert any(reported in what for _, what in report.missing), (case, report)
    result = cli(neo4j_server, "ledger", "verify")
    assert result.returncode == 1 and reported in result.stderr, result.stderr


def test_rebuild_keeps_keys_and_replays_around_their_records(db: Database) -> None:
    keys = ApiKeyService(db)
    IngestService(db).ingest_raw([(e, None) for e in pipeline(n_runs=1)])
    row, key = keys.create("emitter", ["ingest"])
    IngestService(db).ingest_raw([(e, None) for e in pipeline(n_runs=1)])
    rebuild(db)
    assert keys.authenticate(key) is not None
    assert query(db, "MATCH (k:ApiKey) RETURN k.keyId AS id") == [{"id": row["keyId"]}]
    assert check_projection(db, full=True).ok
