"""Scene documents are records in the same hash chain as OpenLineage events: the graph is their
projection, `db rebuild` replays them and gives the same graph, a different document under an
existing (sceneId, contentHash) is refused (409), the content hash is recomputed from the
layers, and a rebuild never deletes what the record does not hold."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidDocumentError, UnrecordedDataError
from lineage_graph.ingest.projection import check_projection
from lineage_graph.ingest.rebuild import rebuild
from lineage_graph.ingest.service import IngestService
from lineage_graph.labeling.schemas import LabelingSchemaService, parse_definition
from lineage_graph.ledger.verify import verify_ledger
from lineage_graph.settings import Settings
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.record import expand
from lineage_graph.usd.store import store_scene
from tests.conftest import REBUILD_VOLATILE, SHARED, DemoGraph, graph_snapshot, query
from tests.events import model_training
from tests.test_cli import cli
from tests.test_evaluations import V2_METRICS, WAREHOUSE, _eval_run
from tests.test_usd_facet import _facet, _render_events


def _doc() -> dict[str, Any]:
    return read_scene(WAREHOUSE, all_variants=True).as_dict()


def _scene_records(db: Database) -> list[dict[str, Any]]:
    return query(db, """MATCH (e:Event {recordType: 'scene'})
                        RETURN e.seq AS seq, e.sha256 AS sha, e.raw AS raw, e.kind AS kind
                        ORDER BY seq""")


def test_a_scene_document_is_a_record_in_the_chain(db: Database) -> None:
    doc = _doc()
    store_scene(db, doc)
    store_scene(db, doc)  # the same document again: no second record
    [record] = _scene_records(db)
    compact = json.loads(record["raw"])
    assert compact["format"] == "lineage-graph.scene-record/1"
    assert record["kind"] == "SceneDocument"
    assert record["sha"] == hashlib.sha256(record["raw"].encode()).hexdigest()
    # Lossless: the recorded form gives the document back (prim lists in path order), and it
    # is smaller than the document, whose variants repeat every prim.
    sort = {"key": lambda p: p["path"]}
    assert expand(compact) == {**doc, "defaultPrims": sorted(doc["defaultPrims"], **sort),
                               "variants": [{**v, "prims": sorted(v["prims"], **sort)}
                                            for v in doc["variants"]]}
    assert len(record["raw"]) < len(json.dumps(doc)) / 2
    assert verify_ledger(db).ok
    [stored] = query(db, "MATCH (v:SceneVersion) RETURN v.documentSha256 AS sha")
    assert stored["sha"] == record["sha"]


def test_a_different_document_under_an_existing_content_hash_is_409(client: TestClient,
                                                                    db: Database) -> None:
    doc = _doc()
    assert client.post("/api/v1/scenes", json=doc).status_code == 201
    before = graph_snapshot(db, REBUILD_VOLATILE)
    forged = copy.deepcopy(doc)
    forged["defaultPrims"][0]["type"] = "Forged"  # same layers, same hash, other prims
    answer = client.post("/api/v1/scenes", json=forged)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "conflict"
    assert doc["contentHash"] in answer.json()["message"]
    assert graph_snapshot(db, REBUILD_VOLATILE) == before and len(_scene_records(db)) == 1


def test_the_content_hash_is_recomputed_from_the_layers(client: TestClient,
                                                        db: Database) -> None:
    doc = _doc()
    doc["layers"][0]["sha256"] = "0" * 64  # a layer that is not the one hashed
    answer = client.post("/api/v1/scenes", json=doc)
    assert answer.status_code == 422
    assert answer.json()["field"] == "contentHash"
    with pytest.raises(InvalidDocumentError):
        store_scene(db, doc)
    assert _scene_records(db) == [] and query(db, "MATCH (n) RETURN count(n) AS n") == [
        {"n": 0}]


def test_rebuild_replays_scenes_and_events_into_the_same_graph(db: Database) -> None:
    """Scenes, renders linked by usdScene facets (the facet arrives before and after its
    scene), training and an evaluation per scene variant: rebuilt from the record alone."""
    ingest = IngestService(db)
    ingest.ingest_raw([(e, None) for e in _render_events(_facet())])  # before the scene
    store_scene(db, _doc())
    ingest.ingest_raw([(e, None) for e in [*model_training("v2", "sha256:bbb"),
                                           _eval_run("v2", V2_METRICS)]])
    before = graph_snapshot(db, REBUILD_VOLATILE)
    assert query(db, "MATCH (v:SceneVariant)<-[:FOR_SCENE_VARIANT]-(:Metric) "
                     "RETURN count(*) > 0 AS linked") == [{"linked": True}]
    replayed = rebuild(db, chunk=3)
    assert replayed == query(db, "MATCH (e:Event) RETURN count(e) AS n")[0]["n"]
    assert graph_snapshot(db, REBUILD_VOLATILE) == before
    assert verify_ledger(db).ok


def test_rebuild_refuses_to_delete_what_the_record_does_not_hold(db: Database) -> None:
    IngestService(db).ingest_raw([(e, None) for e in model_training("v1", "sha256:aaa")])
    LabelingSchemaService(db).create(parse_definition({
        "name": "defect", "type": "EXPECTATION", "title": "Defect?",
        "input": {"kind": "CATEGORICAL", "options": ["scratch", "none"]}}))
    # As a version written before labeling calls were recorded would be:
    db.write(lambda tx: tx.run("MATCH (v:LabelingSchemaVersion) REMOVE v.recorded "
                               "WITH v MATCH (e:Event {recordType: 'labeling'}) DETACH DELETE e"
                               ).consume())
    db.write(lambda tx: tx.run("MATCH (s:Sequence {name: 'event'}) "
                               "SET s.value = s.value - 1").consume())
    before = graph_snapshot(db, REBUILD_VOLATILE)
    with pytest.raises(UnrecordedDataError) as refused:
        rebuild(db)
    assert "1 LabelingSchemaVersion" in str(refused.value)
    assert "--force" in str(refused.value)
    assert graph_snapshot(db, REBUILD_VOLATILE) == before  # nothing deleted
    rebuild(db, force=True)  # on purpose: what the record holds comes back, the rest is gone
    assert query(db, "MATCH (s:LabelingSchemaVersion) RETURN count(s) AS n") == [{"n": 0}]
    assert query(db, "MATCH (m:ModelVersion) RETURN count(m) AS n") == [{"n": 1}]


# -- the graph against the record ---------------------------------------------------------------

COMPATIBILITY = SHARED / "conformance" / "openlineage" / "compatibility"


def _realistic_graph(db: Database) -> None:
    """Real emitters' events (Spark column lineage, Airflow task hierarchies, Dataproc) in
    file order, a scene, and renders linked to it."""
    events = [json.loads(p.read_text()) for p in sorted(COMPATIBILITY.rglob("events/*.json"))]
    assert len(events) > 50
    ingest = IngestService(db)
    ingest.ingest_raw([(e, None) for e in events])
    store_scene(db, _doc())
    ingest.ingest_raw([(e, None) for e in _render_events(_facet())])


def test_an_untouched_graph_holds_what_every_record_projects_to(db: Database) -> None:
    _realistic_graph(db)
    report = check_projection(db, full=True, page=7)
    assert report.checked == query(db, "MATCH (e:Event) RETURN count(e) AS n")[0]["n"]
    assert report.missing == []
    assert check_projection(db, sample=20).checked == 20  # a sample by default


@pytest.mark.parametrize(("tamper", "missing"), [
    ("MATCH (p:Prim {path: '/World/Shelf_01'}) DETACH DELETE p", "prim /World/Shelf_01"),
    ("MATCH (:Run)-[r:READ]->(:Dataset {name: 'warehouse/night'}) DELETE r",
     "READ s3://scenes:warehouse/night"),
    ("MATCH (f:Field) WITH f LIMIT 1 DETACH DELETE f", "field "),
])
def test_ledger_verify_reports_what_was_deleted_behind_the_records_back(
        db: Database, neo4j_server: Settings, tamper: str, missing: str) -> None:
    _realistic_graph(db)
    db.write(lambda tx: tx.run(tamper).consume())  # type: ignore[arg-type]
    assert verify_ledger(db).ok  # the chain itself is intact: only the graph was edited
    report = check_projection(db, full=True)
    assert report.missing and any(missing in what for _, what in report.missing), report
    result = cli(neo4j_server, "ledger", "verify", "--full")
    assert result.returncode == 1
    assert "ledger ok" in result.stdout and "graph differs from the record" in result.stderr
    assert missing in result.stderr


def test_rebuilding_the_demo_gives_the_same_graph(demo_graph: DemoGraph) -> None:
    """The whole demo (scenes, renders, a labeling session whose schema changes version midway,
    labels, two trainings, evaluations per scene variant) is rebuilt from the record alone:
    every node and relationship with its properties comes back equal."""
    db = demo_graph.db
    before = graph_snapshot(db, REBUILD_VOLATILE)
    kinds = query(db, "MATCH (e:Event) RETURN e.recordType AS kind, count(*) AS n")
    assert {k["kind"] for k in kinds} >= {"openlineage", "scene", "labeling"}
    rebuild(db, chunk=50)
    after = graph_snapshot(db, REBUILD_VOLATILE)
    for was, now in zip(before, after, strict=True):  # nodes, then relationships
        gone = [repr(x) for x in was if x not in now]
        new = [repr(x) for x in now if x not in was]
        assert (gone, new) == ([], []), f"lost: {gone[:5]}\ngained: {new[:5]}"
    assert verify_ledger(db).ok and check_projection(db, full=True).ok


def test_rebuild_replays_records_accepted_under_older_limits(db: Database) -> None:
    """An event an older version accepted with NaN in a custom facet (Python emitters send
    it) is replayed as it was first written, not refused halfway through a rebuild."""
    from lineage_graph.ledger.receipt import Receipt
    from lineage_graph.openlineage.parse import parse_event
    from tests.events import T0, new_run_id, run_event

    legacy = run_event("COMPLETE", new_run_id(), ("spark", "legacy"), T0,
                       run_facets={"custom": {"_producer": "p", "_schemaURL": "https://x/y",
                                              "loss": float("nan")}})
    text = json.dumps(legacy)
    assert "NaN" in text
    IngestService(db).write_parsed([(0, parse_event(json.loads(text), text,
                                                    check_values=False))], [Receipt.now()])
    IngestService(db).ingest_raw([(e, None) for e in model_training("v1", "sha256:aaa")])
    before = graph_snapshot(db, REBUILD_VOLATILE)
    rebuild(db)
    assert graph_snapshot(db, REBUILD_VOLATILE) == before
    assert verify_ledger(db).ok


def test_a_record_that_cannot_be_replayed_stops_rebuild_before_anything_is_deleted(
        db: Database) -> None:
    IngestService(db).ingest_raw([(e, None) for e in model_training("v1", "sha256:aaa")])
    db.write(lambda tx: tx.run("MATCH (e:Event {seq: 2}) SET e.raw = '{broken'").consume())
    before = graph_snapshot(db, REBUILD_VOLATILE)
    with pytest.raises(UnrecordedDataError, match="record 2 cannot be replayed"):
        rebuild(db)
    assert graph_snapshot(db, REBUILD_VOLATILE) == before
