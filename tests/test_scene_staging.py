"""A new scene version is written in chunks (CREATE, one transaction per chunk) and published in
one last transaction with its record: a reader never sees part of a version, a writer that dies
half-way leaves nothing a reader can see, and the next store of the same content clears what it
left. The chunked write gives exactly the graph the one-transaction MERGE path gives."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_graph.db.connection import Database
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import apply_scene_record, store_scene
from tests.conftest import SHARED, graph_snapshot, query, wipe

USD = SHARED / "conformance" / "usd"


def _warehouse() -> dict[str, Any]:
    return read_scene(USD / "warehouse" / "warehouse.usda", asset_root=USD,
                      all_variants=True).as_dict()


def _visible(db: Database) -> dict[str, int]:
    """What a reader can reach of stored scenes."""
    [row] = query(db, """
        RETURN COUNT { (:SceneVersion) } AS versions, COUNT { (:SceneVariant) } AS variants,
               COUNT { (:Scene)-[:HAS_VERSION]->(:SceneVersion)-[:HAS_PRIM]->(:Prim) } AS prims,
               COUNT { (:Event {recordType: 'scene'}) } AS records""")
    return dict(row)


def test_a_reader_never_sees_part_of_a_new_version(db: Database) -> None:
    doc = _warehouse()
    seen: list[tuple[int, int, dict[str, int]]] = []
    stored = store_scene(db, doc, chunk_prims=7,
                         on_progress=lambda done, total: seen.append((done, total, _visible(db))))
    assert len(seen) == -(-stored.prims // 7) > 3  # it really went in several chunks
    assert [s[0] for s in seen] == [min(7 * (i + 1), stored.prims) for i in range(len(seen))]
    # Between chunks: no version, no variant, no prim reachable, no record.
    assert all(s[2] == {"versions": 0, "variants": 0, "prims": 0, "records": 0} for s in seen)
    assert _visible(db) == {"versions": 1, "variants": stored.variants, "prims": stored.prims,
                            "records": 1}
    assert query(db, "MATCH (p:PendingSceneVersion) RETURN count(p) AS n") == [{"n": 0}]


def test_chunks_give_the_graph_one_merge_transaction_gives(db: Database) -> None:
    doc = _warehouse()
    store_scene(db, doc, chunk_prims=5)
    chunked = graph_snapshot(db)
    [record] = query(db, "MATCH (e:Event {recordType: 'scene'}) RETURN e.raw AS raw, "
                         "e.receivedAt.epochMillis AS at")
    wipe(db)
    # The replay path (db rebuild) writes the same document with MERGE, in one transaction.
    db.write(lambda tx: apply_scene_record(tx, record["raw"], record["at"]))
    merged = graph_snapshot(db)
    # The snapshot compares everything but the record, which the replay does not rewrite.
    assert chunked == merged


class _Died(Exception):
    pass


def test_a_writer_that_dies_half_way_leaves_nothing_visible_and_the_next_store_clears_it(
        db: Database) -> None:
    doc = _warehouse()

    def die_after_two_chunks(done: int, total: int) -> None:
        if done >= 14:
            raise _Died

    with pytest.raises(_Died):
        store_scene(db, doc, chunk_prims=7, on_progress=die_after_two_chunks)
    # The writer cleaned up after itself; had it been SIGKILLed, its chunks would stay behind
    # a pending node. Simulate that: stage two chunks and walk away.
    assert _visible(db) == {"versions": 0, "variants": 0, "prims": 0, "records": 0}
    from lineage_graph.usd import store as scene_store

    real_clear = scene_store._clear_staging
    scene_store._clear_staging = lambda *args: None  # type: ignore[assignment]
    try:
        with pytest.raises(_Died):
            store_scene(db, doc, chunk_prims=7, on_progress=die_after_two_chunks)
    finally:
        scene_store._clear_staging = real_clear  # type: ignore[assignment]
    [left] = query(db, """MATCH (p:PendingSceneVersion)-[:HAS_PRIM]->(prim:Prim)
                          RETURN count(prim) AS prims""")
    assert left["prims"] == 14
    assert _visible(db) == {"versions": 0, "variants": 0, "prims": 0, "records": 0}
    stored = store_scene(db, doc, chunk_prims=7)
    assert _visible(db) == {"versions": 1, "variants": stored.variants, "prims": stored.prims,
                            "records": 1}
    # No prim twice, nothing pending.
    assert query(db, "MATCH (p:Prim) RETURN count(p) AS n") == [{"n": stored.prims}]
    assert query(db, "MATCH (p:PendingSceneVersion) RETURN count(p) AS n") == [{"n": 0}]


def test_a_stored_version_is_not_staged_again(db: Database) -> None:
    doc = _warehouse()
    store_scene(db, doc, chunk_prims=7)
    before = graph_snapshot(db)
    chunks: list[int] = []
    again = store_scene(db, doc, chunk_prims=7, on_progress=lambda done, _: chunks.append(done))
    assert again.duplicate and chunks == []
    assert graph_snapshot(db) == before
