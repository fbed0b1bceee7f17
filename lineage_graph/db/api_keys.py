"""All Cypher of API keys. Only a key's sha256 is stored; the key itself is shown once."""

from __future__ import annotations

from typing import Any, LiteralString

import neo4j

CREATE_KEY: LiteralString = """
CREATE (k:ApiKey {keyId: $keyId, name: $name, scopes: $scopes, secretHash: $secretHash,
                  createdAt: datetime()})
RETURN k {.keyId, .name, .scopes, .createdAt, .revokedAt} AS key
"""

FIND_KEY: LiteralString = """
MATCH (k:ApiKey {keyId: $keyId})
RETURN k {.keyId, .name, .scopes, .secretHash, .revokedAt} AS key
"""

LIST_KEYS: LiteralString = """
MATCH (k:ApiKey)
RETURN k {.keyId, .name, .scopes, .createdAt, .revokedAt} AS key
ORDER BY k.createdAt
"""

REVOKE_KEY: LiteralString = """
MATCH (k:ApiKey {keyId: $keyId})
SET k.revokedAt = coalesce(k.revokedAt, datetime())
RETURN k {.keyId, .name, .scopes, .createdAt, .revokedAt} AS key
"""


def create_key(tx: neo4j.ManagedTransaction, **params: Any) -> dict[str, Any]:
    record = tx.run(CREATE_KEY, params).single()
    assert record is not None
    created: dict[str, Any] = record["key"]
    return created


def find_key(tx: neo4j.ManagedTransaction, key_id: str) -> dict[str, Any] | None:
    record = tx.run(FIND_KEY, keyId=key_id).single()
    return None if record is None else record["key"]


def list_keys(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
    return [r["key"] for r in tx.run(LIST_KEYS)]


def revoke_key(tx: neo4j.ManagedTransaction, key_id: str) -> dict[str, Any] | None:
    record = tx.run(REVOKE_KEY, keyId=key_id).single()
    return None if record is None else record["key"]
