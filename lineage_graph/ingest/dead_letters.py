"""Dead letters: spooled events the database refused when the drain applied them.

Every spooled event was validated before it was acknowledged (202), so a refusal at drain time
is rare (a write that times out every time, a limit Neo4j enforces that validation missed). Such
an event must neither block the events behind it nor vanish: the drain writes it here (fsync'd)
before it commits the spool past it. ``lineage-graph spool status`` lists the entries,
``spool retry ID`` puts one back into the spool (it is applied in order with whatever arrives
next), ``spool discard ID`` removes one on purpose and keeps it in ``discarded.ndjson``.

One JSON line per entry in ``dead-letters.ndjson`` beside the spool; its id is the event's
sha256 (an event is a dead letter at most once).
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from lineage_graph.errors import NotFoundError
from lineage_graph.ingest.local_files import append_durably, replace_durably
from lineage_graph.ingest.spool import Spool
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.private_files import exclusive_lock

_FILE = "dead-letters.ndjson"
_DISCARDED = "discarded.ndjson"
_LOCK = "dead-letters.lock"


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the event's sha256
    reason: str
    at: float  # unix time it was set aside
    text: str  # the event as received
    received_at_ms: int | None = None  # its receipt, kept for `spool retry`
    key_id: str | None = None

    @property
    def receipt(self) -> Receipt | None:
        """When, and by whose key, it arrived (None for records spooled without one)."""
        if self.received_at_ms is None:
            return None
        return Receipt(self.received_at_ms, self.key_id)

    def summary(self) -> dict[str, object]:
        return {"id": self.id, "reason": self.reason, "at": self.at}


class DeadLetters:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / _FILE

    def add(self, entries: builtins.list[tuple[str, str, str, Receipt | None]]) -> None:
        """Set ``(sha256, text, reason, receipt)`` aside durably; an id already here is kept
        once."""
        if not entries:
            return
        with self._locked():
            current = self.list()
            known = {d.id for d in current}
            fresh: dict[str, DeadLetter] = {}
            for sha, text, reason, receipt in entries:
                if sha not in known:
                    fresh.setdefault(sha, DeadLetter(
                        sha, reason, time.time(), text,
                        receipt.received_at_ms if receipt else None,
                        receipt.key_id if receipt else None))
            if fresh:
                self._rewrite([*current, *fresh.values()])

    def list(self) -> builtins.list[DeadLetter]:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        return [DeadLetter(**json.loads(line)) for line in lines if line.strip()]

    def count(self) -> int:
        return len(self.list())

    def find(self, letter_id: str) -> DeadLetter:
        """One entry, by id or a unique prefix of at least 8 characters."""
        matches = [d for d in self.list() if d.id == letter_id
                   or (len(letter_id) >= 8 and d.id.startswith(letter_id))]
        if len(matches) != 1:
            raise NotFoundError(f"no dead letter {letter_id!r}" if not matches else
                                f"{letter_id!r} names {len(matches)} dead letters: give "
                                "more of the id")
        return matches[0]

    def retry(self, letter_id: str, spool: Spool) -> DeadLetter:
        """Put a letter back into the spool with the receipt it arrived with, then remove it:
        a crash in between leaves it in both places, never in neither."""
        letter = self.find(letter_id)
        spool.append([(letter.id, letter.text)], letter.receipt)
        self._remove(letter)
        return letter

    def discard(self, letter_id: str) -> DeadLetter:
        """Drop a letter on purpose; it is kept, with the time, in ``discarded.ndjson`` first
        (a discard is never silent)."""
        letter = self.find(letter_id)
        line = json.dumps({**asdict(letter), "discardedAt": time.time()}, ensure_ascii=False)
        append_durably(self.directory / _DISCARDED, (line + "\n").encode("utf-8"))
        self._remove(letter)
        return letter

    def _remove(self, letter: DeadLetter) -> None:
        with self._locked():
            self._rewrite([d for d in self.list() if d.id != letter.id])

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The drain (in the API) and the CLI may change the file at the same time."""
        with exclusive_lock(self.directory / _LOCK):
            yield

    def _rewrite(self, entries: builtins.list[DeadLetter]) -> None:
        replace_durably(self.path, "".join(json.dumps(asdict(entry), ensure_ascii=False) + "\n"
                                           for entry in entries))
