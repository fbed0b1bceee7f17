"""When did a stage reach its locked state? The commit time of the oldest commit, walking back
through the history of its dvc.lock, whose entry for the stage is still the same.

That time is a property of the lock state, not of the revision the import reads it at, so the
same state imported from any later revision, or from a clean working tree, gives the same
events (and the ingest path answers ``duplicate``).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any


class LockHistory:
    """Reads ``git log`` and ``git show`` of the repository at ``root``, each lock file at each
    commit once."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._entries: dict[tuple[str, str], dict[str, Any]] = {}
        self._logs: dict[tuple[str, str], list[tuple[str, int]]] = {}

    def locked_since(self, commit: str, dvcfile: str, stage: str
                     ) -> tuple[str, datetime] | None:
        """The commit that locked the stage's state as of ``commit``, and its time; None when
        git cannot tell (no history of the lock file at ``commit``)."""
        lock = str(PurePosixPath(dvcfile).with_name("dvc.lock"))
        history = self._log(commit, lock)
        if not history:
            return None
        target = self._entry(history[0][0], lock).get(stage)
        if target is None:
            return None
        since = None
        for sha, seconds in history:
            if self._entry(sha, lock).get(stage) != target:
                break
            since = (sha, datetime.fromtimestamp(seconds, tz=UTC))
        return since

    def _log(self, commit: str, lock: str) -> list[tuple[str, int]]:
        """Commits up to ``commit`` that changed ``lock``, newest first, with their times."""
        key = (commit, lock)
        if key not in self._logs:
            text = self._git("log", "--format=%H %ct", commit, "--", lock)
            self._logs[key] = [(sha, int(seconds)) for sha, seconds in
                               (line.split() for line in text.splitlines() if line.strip())]
        return self._logs[key]

    def _entry(self, commit: str, lock: str) -> dict[str, Any]:
        """The lock file's stages at ``commit`` (empty when it did not exist)."""
        from dvc.utils.serialize import parse_yaml

        key = (commit, lock)
        if key not in self._entries:
            try:
                text = self._git("show", f"{commit}:{lock}")
            except subprocess.CalledProcessError:
                text = ""
            data = parse_yaml(text, lock) if text.strip() else {}
            stages = data.get("stages") if isinstance(data, dict) else None
            self._entries[key] = stages if isinstance(stages, dict) else {}
        return self._entries[key]

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", self.root, *args], capture_output=True, text=True,
                              check=True, timeout=120).stdout
