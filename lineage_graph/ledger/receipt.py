"""When a write arrived and who sent it: taken as a request arrives, kept through the spool,
hashed into the record's chain (ledger.chain)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


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
