"""API keys: ``lg_<keyId>_<secret>``, scopes ``ingest``, ``read``, ``admin`` (admin implies the
others). The secret is 256 random bits; only its sha256 is stored, so a leaked database does not
leak keys. Lookups are cached for a few seconds, so a revoked key stops working within
``CACHE_SECONDS``.

An unauthenticated caller controls the token, so a token not of the issued shape (12 hex digits,
then 43 URL-safe characters) is refused before any lookup, and lookups are cached in two bounded
LRU maps: ids that exist, and ids that do not. Made-up ids can only evict other made-up ids, never
a real key (which keeps working while Neo4j is down once it has been seen).

Creating and revoking a key are records in the event record's hash chain (``recordType:
apiKey``, ``subject``: the key id), written in the same transaction as the change, so an
``:ApiKey`` added, re-keyed or un-revoked through raw Cypher is reported by ``ledger verify``
(``lineage_graph.ingest.projection``)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Any

import neo4j

from lineage_graph.db import api_keys as store
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError, Neo4jUnavailableError, NotFoundError
from lineage_graph.ledger import append
from lineage_graph.ledger.receipt import Receipt

SCOPES = ("ingest", "read", "admin")
CACHE_SECONDS = 5.0
KNOWN_CACHE_SIZE = 10_000  # keys that exist: bounded by what an admin created
UNKNOWN_CACHE_SIZE = 1_024  # ids that do not: an attacker's, so kept small
_PREFIX = "lg_"
_TOKEN = re.compile(r"lg_(?P<key_id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")
_CacheEntry = tuple[float, dict[str, Any] | None]


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


class ApiKeyService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._unknown: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, name: str, scopes: list[str], receipt: Receipt | None = None
               ) -> tuple[dict[str, Any], str]:
        """Store and record a new key; returns its row and the key, which is never shown
        again."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if not name.strip():
            raise InvalidRequestError("an API key needs a name", field="name")
        if not scopes or unknown:
            raise InvalidRequestError(
                f"scopes must be among {', '.join(SCOPES)}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else ""), field="scope")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        params = {"keyId": key_id, "name": name, "scopes": sorted(set(scopes)),
                  "secretHash": _hash(secret)}
        change = {"action": "create", **params}

        def work(tx: neo4j.ManagedTransaction) -> dict[str, Any]:
            return append.record_change(
                tx, "apiKey", "ApiKeyCreated", key_id, change, (receipt or Receipt.now()).row(),
                lambda: (store.create_key(tx, **params), True))

        return self.db.write(work), f"{_PREFIX}{key_id}_{secret}"

    def list(self) -> list[dict[str, Any]]:
        return self.db.read(store.list_keys)

    def revoke(self, key_id: str, receipt: Receipt | None = None) -> dict[str, Any]:
        """Revoke and record it (once: revoking again records nothing new)."""

        def work(tx: neo4j.ManagedTransaction) -> dict[str, Any] | None:
            def revoke() -> tuple[dict[str, Any] | None, bool]:
                found = store.revoke_key(tx, key_id=key_id)
                return found, found is not None  # again: the same change, recorded once

            return append.record_change(
                tx, "apiKey", "ApiKeyRevoked", key_id, {"action": "revoke", "keyId": key_id},
                (receipt or Receipt.now()).row(), revoke)

        found = self.db.write(work)
        if found is None:
            raise NotFoundError(f"no API key {key_id!r}")
        with self._lock:
            self._known.pop(key_id, None)
            self._unknown.pop(key_id, None)
        return found

    def authenticate(self, token: str) -> ApiKey | None:
        """The key a bearer token stands for, or None (unknown, malformed or revoked: the
        caller cannot tell which)."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None  # not a key this service issues: no lookup, no cache entry
        key_id, secret = match["key_id"], match["secret"]
        row = self._lookup(key_id)
        if row is None or row.get("revokedAt") is not None:
            return None
        if not hmac.compare_digest(row["secretHash"], _hash(secret)):
            return None
        return ApiKey(key_id=key_id, name=row["name"], scopes=frozenset(row["scopes"]))

    def _lookup(self, key_id: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._known.get(key_id) or self._unknown.get(key_id)
            if cached is not None and now - cached[0] < CACHE_SECONDS:
                self._touch(key_id)
                return cached[1]
        try:
            # One attempt: a made-up key must not hold a thread through the driver's retries
            # while Neo4j is down.
            row = self.db.read_once(partial(store.find_key, key_id=key_id))
        except Neo4jUnavailableError:
            # Ingestion goes on while Neo4j is down (events are spooled): a key seen before
            # still counts, as it was when last read. An unseen key cannot be checked.
            if cached is not None:
                return cached[1]
            raise
        with self._lock:
            self._known.pop(key_id, None)
            self._unknown.pop(key_id, None)
            cache, size = ((self._known, KNOWN_CACHE_SIZE) if row is not None
                           else (self._unknown, UNKNOWN_CACHE_SIZE))
            cache[key_id] = (now, row)
            while len(cache) > size:
                cache.popitem(last=False)  # least recently used
        return row

    def _touch(self, key_id: str) -> None:
        for cache in (self._known, self._unknown):
            if key_id in cache:
                cache.move_to_end(key_id)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
