"""Staging a new scene version's prims (the Cypher is in ``lineage_graph.db.scene_writes``).

A writer *claims* the version's ``:PendingSceneVersion`` (creating it, or taking over one whose
writer stopped beating for longer than the lease), clears whatever is staged under it, and
CREATEs the prims in chunks, one transaction each, beating as it goes. Another writer of the
same content meanwhile waits: when the first one publishes, the version is stored and the
waiter has nothing to stage (its store answers ``duplicate``); when the first one dies, its
heartbeat goes stale and the waiter takes over. Taking over changes the token before deleting
anything, so a writer presumed dead that wakes up finds its chunks and its publication refused
and starts over (finding the version stored, or claiming it again).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import neo4j

from lineage_graph.db import scene_writes
from lineage_graph.db.connection import Database
from lineage_graph.errors import ConflictError, LineageGraphError

log = logging.getLogger(__name__)

# Prims per staging transaction: large enough that round trips do not dominate, small enough
# that a 100,000-prim scene never needs one huge transaction.
DEFAULT_CHUNK_PRIMS = 10_000
# A writer that has not written for this long is presumed dead (a chunk takes about a second).
DEFAULT_LEASE_MS = 60_000
_POLL_S = 0.2
_ATTEMPTS = 3

Progress = Callable[[int, int], None]  # (prims staged so far, prims in all)


class SceneStaging:
    def __init__(self, db: Database, params: dict[str, Any], chunk_prims: int,
                 on_progress: Progress | None, lease_ms: int = DEFAULT_LEASE_MS) -> None:
        self.db = db
        self.node_id: str = params["version"]["nodeId"]
        self.prims: list[dict[str, Any]] = params["prims"]
        self.chunk = max(1, chunk_prims)
        self.on_progress = on_progress
        self.lease_ms = lease_ms
        self.token = uuid.uuid4().hex

    def stage(self) -> str | None:
        """Stage every prim; this writer's token, or None when the version is stored by now
        (another writer published it: nothing to stage)."""
        for _ in range(_ATTEMPTS):
            owned = self._claim()
            if owned is None:
                return None
            try:
                if self._write_chunks(owned):
                    return self.token
            except (neo4j.exceptions.ConstraintError, scene_writes.PublishedMeanwhile):
                # A prim of this content exists, or the staging stopped being this writer's
                # while a write waited for its lock: another writer published it or took it
                # over meanwhile (the write was rolled back).
                self.clear()
                continue
            except BaseException:
                self.clear()
                raise
            log.info("scene version %s: staging taken over by another writer; starting over",
                     self.node_id)
        raise ConflictError(f"scene version {self.node_id} is being stored by other requests "
                            "that keep taking over; retry later")

    def clear(self) -> None:
        """Delete what this writer staged, in bounded transactions. Best effort after a
        failure: what stays is invisible to readers and the next writer clears it."""
        try:
            self._delete_staged()
            self.db.write(partial(scene_writes.delete_pending_version, node_id=self.node_id,
                                  token=self.token))
        except scene_writes.PublishedMeanwhile:
            return  # no longer this writer's: nothing of it to clear
        except LineageGraphError:
            log.warning("could not clear the staged prims of scene version %s; they are "
                        "invisible and the next store of this version clears them",
                        self.node_id)

    def _delete_staged(self) -> None:
        """Every prim staged under this writer's token, a bounded transaction at a time."""
        while self.db.write(partial(scene_writes.delete_staged, node_id=self.node_id,
                                    token=self.token, limit=DEFAULT_CHUNK_PRIMS,
                                    now_ms=_now_ms())):
            pass

    def _claim(self) -> int | None:
        """Wait until this writer owns the staging (then: how many prims are staged under it)
        or the version is stored (then: None)."""
        while True:
            try:
                found = self.db.write(self._claim_work)
            except scene_writes.PublishedMeanwhile:
                return None  # rolled back; the version is stored
            if found is None or found[0]:
                return None if found is None else found[1]
            time.sleep(_POLL_S)  # another writer is staging this content: let it finish

    def _claim_work(self, tx: neo4j.ManagedTransaction) -> tuple[bool, int] | None:
        claimed = scene_writes.claim_pending_version(tx, self.node_id, self.token, _now_ms(),
                                                     self.lease_ms)
        # Checked after the claim, which waited for any writer publishing this version: a
        # check made before it could miss a publication that commits meanwhile, and this
        # writer would stage prims that already exist.
        if scene_writes.scene_version_stored(tx, self.node_id):
            scene_writes.delete_pending_version(tx, self.node_id, self.token)
            return None
        return claimed

    def _write_chunks(self, staged: int) -> bool:
        """False when another writer took the staging over."""
        if staged:  # a dead writer's prims (or this writer's, from an attempt taken over)
            self._delete_staged()
        for offset in range(0, len(self.prims), self.chunk):
            rows = self.prims[offset:offset + self.chunk]
            after = self.db.write(partial(scene_writes.stage_prims, node_id=self.node_id,
                                          token=self.token, offset=offset, prims=rows,
                                          now_ms=_now_ms()))
            if after is None:
                return False
            if after != offset + len(rows):
                raise ConflictError(f"scene version {self.node_id}: {after} prims staged where "
                                    f"{offset + len(rows)} were expected; retry")
            if self.on_progress is not None:
                self.on_progress(after, len(self.prims))
        return True


def _now_ms() -> int:
    return int(time.time() * 1000)
