"""How a retention record names the records whose text it removed: a digest of their sequence
numbers, so `ledger verify` tells retention from tampering (a record whose text is gone must
be named by the retention record of the same time)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


class SeqDigest:
    """sha256 over ``"<seq>\\n"`` for each sequence number, in ascending order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None

    def add(self, seq: int) -> None:
        """Sequence numbers must come in ascending order (as verification reads them)."""
        self._hash.update(f"{seq}\n".encode("ascii"))
        self.count += 1
        if self.first is None:
            self.first = seq
        self.last = seq

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def seq_digest(seqs: Iterable[int]) -> str:
    digest = SeqDigest()
    for seq in sorted(seqs):
        digest.add(seq)
    return digest.hexdigest()
