"""A new scene version is written in chunks (CREATE, one transaction per chunk) and published in
one last transaction with its record: a reader never sees part of a version; a writer that dies
half-way leaves nothing a reader can see, and the next writer of that content takes its staging
over once its lease has passed; two writers of the same content never lose or double a prim.
The chunked write gives exactly the graph the one-transaction MERGE path gives."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lineage_graph.db import scene_writes
from lineage_graph.db.connection import Database
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.staging import SceneStaging
from lineage_graph.usd.store import apply_scene_record, scene_parameters, store_scene
from tests.conftest import SHARED, SentStatement, graph_snapshot, query, wipe

USD = SHARED / "conformance" / "usd"


def _warehouse() -> dict[str, Any]:
    return read_scene(USD / "warehouse" / "warehouse.usda", asset_root=USD,
                      all_variants=True).as_dict()


def _visible(db: Database) -> dict[str, int]:
    """What a reader can reach of stored scenes, and what is staged out of its sight."""
    [row] = query(db, """
        RETURN COUNT { (:SceneVersion) } AS versions, COUNT { (:SceneVariant) } AS variants,
               COUNT { (:Event {recordType: 'scene'}) } AS records,
               COUNT { (:PendingSceneVersion)-[:HAS_PRIM]->(:Prim) } AS staged,
               COUNT { (:Prim) } AS prims""")
    return dict(row)


def _stored_once(db: Database, prims: int, variants: int) -> None:
    assert _visible(db) == {"versions": 1, "variants": variants, "records": 1, "staged": 0,
                            "prims": prims}
    assert query(db, "MATCH (p:PendingSceneVersion) RETURN count(p) AS n") == [{"n": 0}]
    [row] = query(db, "MATCH (:SceneVersion)-[h:HAS_PRIM]->() RETURN count(h) AS n")
    assert row["n"] == prims  # every prim, once, reachable from its version


def test_a_reader_never_sees_part_of_a_new_version(db: Database) -> None:
    doc = _warehouse()
    seen: list[tuple[int, dict[str, int]]] = []
    stored = store_scene(db, doc, chunk_prims=7,
                         on_progress=lambda done, total: seen.append((done, _visible(db))))
    assert len(seen) == -(-stored.prims // 7) > 3  # it really went in several chunks
    for done, visible in seen:  # between chunks: staged out of sight, nothing to read
        assert visible == {"versions": 0, "variants": 0, "records": 0, "staged": done,
                           "prims": done}
    _stored_once(db, stored.prims, stored.variants)


def test_chunks_give_the_graph_one_merge_transaction_gives(db: Database) -> None:
    doc = _warehouse()
    store_scene(db, doc, chunk_prims=5)
    chunked = graph_snapshot(db)
    [record] = query(db, "MATCH (e:Event {recordType: 'scene'}) RETURN e.raw AS raw, "
                         "e.receivedAt.epochMillis AS at")
    wipe(db)
    # The replay path (db rebuild) writes the same document with MERGE, in one transaction.
    db.write(lambda tx: apply_scene_record(tx, record["raw"], record["at"]))
    assert graph_snapshot(db) == chunked  # the snapshot leaves the record out


class _Died(Exception):
    pass


def _die_after(prims: int) -> Any:
    def hook(done: int, total: int) -> None:
        if done >= prims:
            raise _Died
    return hook


def test_a_writer_that_fails_half_way_clears_what_it_staged(db: Database) -> None:
    with pytest.raises(_Died):
        store_scene(db, _warehouse(), chunk_prims=7, on_progress=_die_after(14))
    assert _visible(db) == {"versions": 0, "variants": 0, "records": 0, "staged": 0,
                            "prims": 0}


def test_a_dead_writers_staging_is_taken_over_once_its_lease_passed(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _warehouse()
    # SIGKILLed half-way: nothing cleans up after it.
    monkeypatch.setattr(SceneStaging, "clear", lambda self: None)
    with pytest.raises(_Died):
        store_scene(db, doc, chunk_prims=7, on_progress=_die_after(14))
    monkeypatch.undo()
    assert _visible(db) == {"versions": 0, "variants": 0, "records": 0, "staged": 14,
                            "prims": 14}
    # Its heartbeat is older than the lease (0 ms here, 60 s by default): taken over.
    stored = store_scene(db, doc, chunk_prims=7, lease_ms=0)
    assert not stored.duplicate
    _stored_once(db, stored.prims, stored.variants)


def test_a_writer_taken_over_half_way_finds_the_version_stored(db: Database) -> None:
    """The reviewer's race: B takes A's staging over while A is alive but slow. A's next chunk
    is refused; A starts over, finds B's published version and answers duplicate. No prim is
    lost or doubled."""
    doc = _warehouse()
    outcome: dict[str, Any] = {}

    def b_takes_over(done: int, total: int) -> None:
        if done == 14 and "b" not in outcome:
            outcome["b"] = store_scene(db, doc, chunk_prims=7, lease_ms=0)

    a = store_scene(db, doc, chunk_prims=7, on_progress=b_takes_over)
    assert not outcome["b"].duplicate and a.duplicate
    _stored_once(db, a.prims, a.variants)


def test_a_second_writer_waits_for_the_first_and_answers_duplicate(db: Database) -> None:
    doc = _warehouse()
    paused, go = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def pause_a(done: int, total: int) -> None:
        if done == 14:
            paused.set()
            assert go.wait(30)

    def run(name: str, **kwargs: Any) -> None:
        try:
            results[name] = store_scene(db, doc, chunk_prims=7, **kwargs)
        except Exception as exc:  # reported below, not lost with the thread
            results[name] = exc

    first = threading.Thread(target=run, args=("a",), kwargs={"on_progress": pause_a})
    first.start()
    assert paused.wait(30)
    second = threading.Thread(target=run, args=("b",))  # the default 60 s lease: it waits
    second.start()
    second.join(1.0)
    assert second.is_alive()  # B is waiting for A, not staging over it
    go.set()
    first.join(60)
    second.join(60)
    assert not isinstance(results["a"], Exception), results["a"]
    assert not isinstance(results["b"], Exception), results["b"]
    assert not results["a"].duplicate and results["b"].duplicate
    _stored_once(db, results["a"].prims, results["a"].variants)


def test_a_chunk_retried_after_a_lost_commit_is_not_written_twice(db: Database) -> None:
    params = scene_parameters(_record(_warehouse()))
    node_id, rows = params["version"]["nodeId"], params["prims"][:5]
    owned, staged = db.write(lambda tx: scene_writes.claim_pending_version(
        tx, node_id, "t", 0, 60_000))
    assert (owned, staged) == (True, 0)
    for _ in range(2):  # the driver retries a transaction whose commit answer was lost
        after = db.write(lambda tx: scene_writes.stage_prims(tx, node_id, "t", 0, rows, 0))
        assert after == 5
    assert query(db, "MATCH (p:Prim) RETURN count(p) AS n") == [{"n": 5}]
    # Another token is refused, as a writer that was taken over is.
    assert db.write(lambda tx: scene_writes.stage_prims(tx, node_id, "u", 5, rows, 0)) is None


def test_a_stored_version_is_not_staged_again(db: Database) -> None:
    doc = _warehouse()
    store_scene(db, doc, chunk_prims=7)
    before = graph_snapshot(db)
    chunks: list[int] = []
    again = store_scene(db, doc, chunk_prims=7, on_progress=lambda done, _: chunks.append(done))
    assert again.duplicate and chunks == []
    assert graph_snapshot(db) == before


def _record(doc: dict[str, Any]) -> dict[str, Any]:
    from lineage_graph.usd import record
    from lineage_graph.usd.document import validate_scene_document

    return record.compact(validate_scene_document(doc))


def _stage_two_prims(db: Database, node_id: str, token: str) -> None:
    db.write(lambda tx: scene_writes.claim_pending_version(tx, node_id, token, 1, 60_000))
    prims = [{"primId": f"{node_id}/p{i}", "path": f"/World/P{i}", "type": "Xform",
              "kind": None, "instanceable": False, "instanceProxy": False, "inDefault": True}
             for i in range(2)]
    assert db.write(lambda tx: scene_writes.stage_prims(tx, node_id, token, 0, prims, 1)) == 2


@pytest.mark.parametrize("write", ["claim", "stage", "delete"])
def test_a_write_that_waited_on_a_publication_leaves_the_published_version_alone(
        db: Database, write: str) -> None:
    """Found by a CI run (the claim) and a review (staging and deleting): a writer that matched
    the pending version, then waited for its lock while another writer published it, wrote its
    lease onto the published version (and a delete would have removed its prims). Neo4j does
    not re-check a MATCH once the lock is granted: each write re-checks, and rolls back."""
    node_id = "sceneVersion:published-meanwhile"
    _stage_two_prims(db, node_id, "writer-b" if write == "delete" else "writer-a")
    with db.driver.session(database=db.name) as session:
        publishing = session.begin_transaction()
        publishing.run("""MATCH (sv:PendingSceneVersion {nodeId: $id})
                          REMOVE sv:PendingSceneVersion, sv.token, sv.heartbeatAt, sv.staged,
                                 sv.startedAt
                          SET sv:SceneVersion:LineageNode""", id=node_id).consume()
        waited: dict[str, Any] = {}

        def attempt(tx: Any) -> Any:
            if write == "claim":  # a lease of 0: the claim would take the staging over
                return scene_writes.claim_pending_version(tx, node_id, "writer-b", 2, 0)
            if write == "stage":
                return scene_writes.stage_prims(tx, node_id, "writer-a", 2, [], 2)
            return scene_writes.delete_staged(tx, node_id, "writer-b", 100, 2)

        def run() -> None:
            try:
                waited["result"] = db.write(attempt)
            except Exception as exc:  # reported below, not lost with the thread
                waited["result"] = exc

        waiting = threading.Thread(target=run)
        waiting.start()
        waiting.join(1.0)
        publishing.commit()
        waiting.join(30)
    assert not waiting.is_alive()
    published = query(db, """MATCH (sv:SceneVersion {nodeId: $id})
                             RETURN keys(sv) AS keys, COUNT { (sv)-[:HAS_PRIM]->() } AS prims""",
                      id=node_id)
    assert published == [{"keys": ["nodeId"], "prims": 2}]
    # The write waited on the published node and rolled back; or (a claim), finding no pending
    # version any more, it made a new one; never a lease on, or a prim taken from, the
    # published version.
    result = waited["result"]
    assert isinstance(result, scene_writes.PublishedMeanwhile) or (
        write == "claim" and result == (True, 0)), result


def test_the_prims_travel_once_in_chunks_not_again_under_the_lock(
        db: Database, cypher_sent: list[SentStatement]) -> None:
    """The publishing transaction holds the sequence lock (every ingest writer waits): it is
    sent the document's versions, layers, arcs and variants, never the prims it staged."""
    stored = store_scene(db, _warehouse(), chunk_prims=7)
    _stored_once(db, stored.prims, stored.variants)
    staging = [s.parameters for s in cypher_sent if s.text == scene_writes.STAGE_PRIMS]
    assert len(staging) == -(-stored.prims // 7) and all("prims" in n for n in staging)
    publishing = [s.parameters for s in cypher_sent
                  if s.text in (scene_writes.PUBLISH_PENDING_VERSION,
                                scene_writes.COMPLETE_PUBLISHED_VERSION)]
    assert len(publishing) == 2 and not any("prims" in n for n in publishing)
