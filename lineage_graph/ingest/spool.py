"""The spool: accepted events Neo4j could not take yet, kept on local disk until it can.

One append-only file of JSON lines (``{"sha256": ..., "text": <the event as received>}``) and
one file holding the byte offset up to which the lines have been applied. Appends are fsync'd
before the API acknowledges (202), so a crash loses nothing acknowledged; a line cut short by a
crash was never acknowledged and is ignored. The drain applies lines in order and commits the
offset (write, fsync, rename) only after Neo4j committed them, so a crash mid-drain replays some
lines, which the event record answers as duplicates: nothing is applied twice.

Appends and the truncation of a fully applied file take a lock (``spool.lock``, across
processes); one drainer at a time holds ``drain.lock`` (the API's background drain or
``lineage-graph spool drain``).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_RECORDS = "events.ndjson"
_OFFSET = "applied.offset"
_LOCK = "spool.lock"
_DRAIN_LOCK = "drain.lock"


@dataclass(frozen=True)
class SpooledEvent:
    sha256: str
    text: str
    end: int  # byte offset just after this record


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._counted: tuple[int, int, int] | None = None  # (size, offset, depth)

    @property
    def records_path(self) -> Path:
        return self.directory / _RECORDS

    def append(self, events: list[tuple[str, str]]) -> None:
        """Append ``(sha256, text)`` records durably: returns only after fsync."""
        if not events:
            return
        data = "".join(json.dumps({"sha256": sha, "text": text}, ensure_ascii=False) + "\n"
                       for sha, text in events).encode("utf-8")
        with self._file_lock():
            fd = os.open(self.records_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def has_pending(self) -> bool:
        """Cheap (two stats): are there records not applied yet?"""
        return self._size() > self._applied_offset()

    def depth(self) -> int:
        """How many records are not applied yet."""
        with self._lock:
            size, offset = self._size(), self._applied_offset()
            if self._counted is None or self._counted[:2] != (size, offset):
                self._counted = (size, offset, sum(1 for _ in self._read(offset)))
            return self._counted[2]

    def pending(self, limit: int) -> list[SpooledEvent]:
        found: list[SpooledEvent] = []
        for event in self._read(self._applied_offset()):
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
                _write_durably(self.directory / _OFFSET, "0")
                with open(self.records_path, "r+b") as fh:
                    fh.truncate(0)
                    os.fsync(fh.fileno())
            else:
                _write_durably(self.directory / _OFFSET, str(end))

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
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(self.directory / _LOCK, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

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

    def _read(self, offset: int) -> Iterator[SpooledEvent]:
        if not self.records_path.exists():
            return
        with open(self.records_path, "rb") as fh:
            fh.seek(offset)
            position = offset
            for line in fh:
                if not line.endswith(b"\n"):
                    return  # cut short by a crash before it was acknowledged
                position += len(line)
                record = json.loads(line)
                yield SpooledEvent(sha256=record["sha256"], text=record["text"], end=position)


def _write_durably(path: Path, content: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
