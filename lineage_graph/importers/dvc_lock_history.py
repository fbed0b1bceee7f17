"""dvc.lock entries, at git commits and in the working tree: a stage's lock state, its identity,
and when it was reached.

A lock state's identity (:func:`lock_digest`) is what DVC compares to decide a re-run: the
command as run, the params and the dep and out hashes. It is reached at the commit time of the
oldest commit, walking back through the history of its dvc.lock, whose entry for the stage has
the same identity. That date is a property of the state, not of the revision it is read at, so
the same state read from any later revision, or from a working tree whose entry is the
committed one, gives the same events (and the ingest path answers ``duplicate``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

# Keys of a dep/out entry that hold its hash, DVC 3 first (DVC 2 wrote md5 without "hash").
_HASH_KEYS = ("md5", "etag", "checksum")


def lock_path(dvcfile: str) -> str:
    """The dvc.lock beside a dvc.yaml, relative to the DVC root."""
    return str(PurePosixPath(dvcfile).with_name("dvc.lock"))


def lock_digest(entry: Mapping[str, Any]) -> str:
    """sha256 of the entry's identity as canonical JSON: cmd, params, and each dep's and out's
    path and hash (whatever else DVC writes, such as sizes or the hash name, is left out, so a
    DVC upgrade that rewrites the lock file does not make new states)."""
    def artifacts(items: Any) -> list[list[str]]:
        return sorted([str(item.get("path")), _hash(item)] for item in items or []
                      if isinstance(item, Mapping))

    cmd = entry.get("cmd")
    identity = {"cmd": "\n".join(cmd) if isinstance(cmd, list) else str(cmd or ""),
                "params": entry.get("params") or {}, "deps": artifacts(entry.get("deps")),
                "outs": artifacts(entry.get("outs"))}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False, default=str).encode()).hexdigest()


def _hash(item: Mapping[str, Any]) -> str:
    return next((str(item[k]) for k in _HASH_KEYS if item.get(k)), "")


class LockHistory:
    """Reads the lock files of the DVC repository rooted at ``root`` (``git -C root``: paths are
    relative to the DVC root even when it is a sub-folder of the git repository), each lock file
    at each commit once."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._entries: dict[tuple[str | None, str], dict[str, Any]] = {}
        self._logs: dict[tuple[str, str], list[tuple[str, int]]] = {}

    def entry(self, commit: str | None, dvcfile: str, stage: str) -> dict[str, Any] | None:
        """The stage's lock entry at ``commit`` (None: in the working tree)."""
        found = self._stages(commit, lock_path(dvcfile)).get(stage)
        return found if isinstance(found, dict) else None

    def locked_since(self, commit: str, dvcfile: str, stage: str
                     ) -> tuple[str, datetime] | None:
        """The commit that reached the stage's state as of ``commit``, and its time; None when
        git cannot tell (no history of the lock file at ``commit``)."""
        lock = lock_path(dvcfile)
        target = self.entry(commit, dvcfile, stage)
        if target is None:
            return None
        digest = lock_digest(target)
        since = None
        for sha, seconds in self._log(commit, lock):
            entry = self._stages(sha, lock).get(stage)
            if not isinstance(entry, dict) or lock_digest(entry) != digest:
                break
            since = (sha, datetime.fromtimestamp(seconds, tz=UTC))
        return since

    def head(self) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "-q", "HEAD^{commit}").strip() or None
        except subprocess.CalledProcessError:  # no commit yet, or not a git repository
            return None

    def _log(self, commit: str, lock: str) -> list[tuple[str, int]]:
        """Commits up to ``commit`` that changed ``lock``, newest first, with their times."""
        key = (commit, lock)
        if key not in self._logs:
            text = self._git("log", "--format=%H %ct", commit, "--", lock)
            self._logs[key] = [(sha, int(seconds)) for sha, seconds in
                               (line.split() for line in text.splitlines() if line.strip())]
        return self._logs[key]

    def _stages(self, commit: str | None, lock: str) -> dict[str, Any]:
        """The lock file's stages at ``commit`` or in the working tree (empty when absent)."""
        from dvc.utils.serialize import parse_yaml

        key = (commit, lock)
        if key not in self._entries:
            text = ""
            try:
                if commit is None:
                    file = Path(self.root) / lock
                    text = file.read_text(encoding="utf-8") if file.is_file() else ""
                else:
                    # "./": relative to the DVC root, which may be below the git top level.
                    text = self._git("show", f"{commit}:./{lock}")
            except subprocess.CalledProcessError:
                text = ""
            data = parse_yaml(text, lock) if text.strip() else {}
            stages = data.get("stages") if isinstance(data, dict) else None
            self._entries[key] = stages if isinstance(stages, dict) else {}
        return self._entries[key]

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", self.root, *args], capture_output=True, text=True,
                              check=True, timeout=120).stdout
