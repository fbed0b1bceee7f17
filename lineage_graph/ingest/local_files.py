"""Durable local files for the spool and the dead letters (their lock across processes is
lineage_graph.private_files.exclusive_lock): complete writes, durable appends and atomic replaces,
each fsync'd with the directory when a name appears (a new file's name must survive a crash as
well as its bytes)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` may write less than asked (a signal, a nearly full disk): loop."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


def append_durably(path: Path, data: bytes) -> None:
    """Append ``data`` to a private file and fsync it (and its directory when it is new)."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


def replace_durably(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a private temporary file, fsync, rename)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
