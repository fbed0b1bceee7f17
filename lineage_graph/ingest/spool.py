"""The spool: accepted events Neo4j could not take yet, kept on local disk until it can.

One append-only file of JSON lines (``{"sha256": ..., "text": <the event as received>,
"receivedAtMs": ..., "keyId": ...}``: the receipt goes into the record's chain hash) and
one file holding the byte offset up to which the lines have been applied. An append returns only
once every byte is written and fsync'd (and, for a new file, its directory entry too); a write
that fails part-way (a full disk) is cut back off the file and raises :class:`SpoolWriteError`,
so the API answers 503, never 202 for bytes not on disk. A line cut short by a crash was never
acknowledged: the next append first ends it with a newline, so it can never merge with the
records after it, and the reader hands any line that is not a well-formed record (anywhere in
the file, not only the last) to the drainer as *corrupt*, which moves it to the quarantine file
(``quarantine.ndjson``) instead of applying it. The drain applies lines in order and commits the
offset (write, fsync, rename) only after Neo4j committed them, so a crash mid-drain replays some
lines, which the event record answers as duplicates: nothing is applied twice.

Appends and the truncation of a fully applied file take a lock (``spool.lock``, across
processes); one drainer at a time holds ``drain.lock`` (the API's background drain or
``lineage-graph spool drain``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lineage_graph.errors import SpoolWriteError
from lineage_graph.ingest.local_files import (
    append_durably,
    fsync_dir,
    replace_durably,
    write_all,
)
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.private_files import exclusive_lock

_RECORDS = "events.ndjson"
_OFFSET = "applied.offset"
_LOCK = "spool.lock"
_DRAIN_LOCK = "drain.lock"
_QUARANTINE = "quarantine.ndjson"


@dataclass(frozen=True)
class SpooledEvent:
    sha256: str
    text: str
    end: int  # byte offset just after this record
    corrupt: str | None = None  # why this line is not a record (then ``text`` is the raw line)
    receipt: Receipt | None = None  # None in records spooled before receipts were kept


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._counted: tuple[int, int, int] | None = None  # (size, offset, depth)

    @property
    def records_path(self) -> Path:
        return self.directory / _RECORDS

    def append(self, events: list[tuple[str, str]], receipt: Receipt | None = None) -> None:
        """Append ``(sha256, text)`` records, received together, durably: returns only after
        fsync; raises SpoolWriteError (nothing of this call left in the file) when the disk
        refuses."""
        if not events:
            return
        meta = (receipt or Receipt.now()).row()
        data = "".join(json.dumps({"sha256": sha, "text": text, **meta}, ensure_ascii=False)
                       + "\n" for sha, text in events).encode("utf-8")
        with self._file_lock():
            created = not self.records_path.exists()
            fd = os.open(self.records_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                start = os.fstat(fd).st_size
                if start and os.pread(fd, 1, start - 1) != b"\n":
                    # A record cut short by a crash: end it, so it stays one corrupt line
                    # (quarantined by the drain) instead of swallowing the next record.
                    data = b"\n" + data
                try:
                    write_all(fd, data)
                    os.fsync(fd)
                except OSError as exc:
                    _cut_back(fd, start)
                    raise SpoolWriteError(
                        f"the spool at {self.directory} could not store the event "
                        f"({errno.errorcode.get(exc.errno or 0, exc.errno)}: {exc.strerror})"
                    ) from exc
            finally:
                os.close(fd)
            if created:
                fsync_dir(self.directory)  # the new file's name must survive a crash too

    def quarantine(self, events: list[SpooledEvent]) -> None:
        """Keep corrupt lines aside (``quarantine.ndjson``) before the drain commits past them:
        nothing the spool held is ever silently dropped."""
        if not events:
            return
        data = "".join(json.dumps({"at": time.time(), "reason": e.corrupt, "line": e.text},
                                  ensure_ascii=False) + "\n" for e in events).encode("utf-8")
        with self._file_lock():
            append_durably(self.directory / _QUARANTINE, data)

    def quarantined(self) -> list[dict[str, object]]:
        """The quarantined lines, oldest first."""
        try:
            lines = (self.directory / _QUARANTINE).read_bytes().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def has_pending(self) -> bool:
        """Cheap (two stats): are there records not applied yet?"""
        return self._size() > self._applied_offset()

    def depth(self) -> int:
        """How many records are not applied yet."""
        with self._lock:
            size, offset = self._size(), self._applied_offset()
            if self._counted is None or self._counted[:2] != (size, offset):
                self._counted = (size, offset, sum(1 for e in self._read(offset, size)
                                                   if e.corrupt is None))
            return self._counted[2]

    def pending(self, limit: int) -> list[SpooledEvent]:
        """The next ``limit`` lines not applied yet, in order; corrupt ones included (marked),
        so committing the list moves past them."""
        found: list[SpooledEvent] = []
        with self._file_lock():
            # Only bytes of appends that completed: an append failing half-way (cut back
            # afterwards, answered 503) must never be read, let alone applied.
            size = self._size()
        for event in self._read(self._applied_offset(), size):
            found.append(event)
            if len(found) >= limit:
                break
        return found

    def commit(self, events: list[SpooledEvent]) -> None:
        """Mark records applied (call while holding ``draining()``); when everything is, start
        a fresh file."""
        if not events:
            return
        with self._file_lock():
            end = events[-1].end
            if end >= self._size():
                # Everything applied. The offset goes first: a crash between the two steps
                # replays records (answered as duplicates) rather than skipping new ones.
                replace_durably(self.directory / _OFFSET, "0")
                with open(self.records_path, "r+b") as fh:
                    fh.truncate(0)
                    os.fsync(fh.fileno())
            else:
                replace_durably(self.directory / _OFFSET, str(end))

    @contextmanager
    def draining(self, wait: bool = True) -> Iterator[bool]:
        """Hold the drain lock (one drainer across processes); yields False when another
        process holds it and ``wait`` is False."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / _DRAIN_LOCK, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Appends and the truncation of a fully applied file exclude each other, in this
        process and across processes (the API appending while the CLI drains)."""
        with self._lock, exclusive_lock(self.directory / _LOCK):
            yield

    def _size(self) -> int:
        try:
            return self.records_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _applied_offset(self) -> int:
        try:
            return int((self.directory / _OFFSET).read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def _read(self, offset: int, size: int) -> Iterator[SpooledEvent]:
        """Complete lines from ``offset`` up to ``size`` (a size taken under the append
        lock)."""
        if not self.records_path.exists():
            return
        with open(self.records_path, "rb") as fh:
            fh.seek(offset)
            position = offset
            for line in fh:
                if position + len(line) > size or not line.endswith(b"\n"):
                    return  # being written, or cut short by a crash: not acknowledged
                position += len(line)
                yield _record(line, position)


def _record(line: bytes, end: int) -> SpooledEvent:
    try:
        record = json.loads(line)
        if (isinstance(record, dict) and isinstance(record.get("sha256"), str)
                and isinstance(record.get("text"), str)):
            received = record.get("receivedAtMs")
            receipt = (Receipt(received, record.get("keyId")) if isinstance(received, int)
                       else None)
            return SpooledEvent(sha256=record["sha256"], text=record["text"], end=end,
                                receipt=receipt)
        problem = "not a spool record (sha256 and text expected)"
    except (ValueError, RecursionError) as exc:
        problem = f"not JSON ({exc})"[:200]
    return SpooledEvent(sha256="", text=line.decode("utf-8", "replace").rstrip("\n"), end=end,
                        corrupt=problem)


def _cut_back(fd: int, size: int) -> None:
    """Remove what a failed append wrote. If even that fails, the next append ends the torn
    bytes with a newline and the drain quarantines them."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass
