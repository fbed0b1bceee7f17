"""Every Cypher query of docs/forensics.md runs against the graph `lineage-graph demo` builds and
gives the answer the page describes, so the cookbook cannot rot."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from tests.conftest import DemoGraph, query
from tests.events import T0, ds, new_run_id, run_event

DOC = Path(__file__).resolve().parents[1] / "docs" / "forensics.md"
QUERIES = re.findall(r"\*\*(\d+)\. ([^*]+)\*\*.*?```cypher\n(.*?)```", DOC.read_text(),
                     flags=re.S)


def test_the_cookbook_has_at_least_ten_queries() -> None:
    assert len(QUERIES) >= 10
    assert [int(n) for n, _, _ in QUERIES] == list(range(1, len(QUERIES) + 1))


def _run(demo: DemoGraph, number: int) -> list[dict[str, Any]]:
    _, _, cypher = QUERIES[number - 1]
    return query(demo.db, cypher)


NIGHT = json.dumps({"layout": "aisle_wide", "lighting": "night"})


CHECKS: dict[int, Any] = dict([
    (1, lambda rows: [r["selections"] for r in rows] == [
        json.dumps({"layout": "aisle_narrow", "lighting": "day"}),
        json.dumps({"layout": "aisle_wide", "lighting": "day"}), NIGHT]),
    (2, lambda rows: rows == [{"model": "detector", "version": "v2"}]),
    (3, lambda rows: rows == [{"namespace": "s3://frames", "dataset": "warehouse/holdout",
                               "field": "label"}]),
    (4, lambda rows: rows == []),
    (5, lambda rows: len(rows) == 1 and rows[0]["codeChanged"] is False
        and any(i.startswith("warehouse/night_wide@") for i in rows[0]["added"])
        and "session/warehouse pallet review@batch-2" in rows[0]["added"]
        and "session/warehouse pallet review@batch-1" in rows[0]["removed"]),
    (6, lambda rows: rows[0]["sceneVariant"].endswith("lighting=night")
        and rows[0]["delta"] == pytest.approx(-0.26)),
    (7, lambda rows: rows == [{"model": "detector", "version": "v1"},
                              {"model": "detector", "version": "v2"}]),
    (8, lambda rows: {(r["schemaVersion"], r["author"], r["labels"]) for r in rows} == {
        (2, "ana", 2), (2, "raj", 2)}),
    (9, lambda rows: rows == [{"namespace": "physical-ai", "job": "render_warehouse",
                               "versionsOfCode": 2}]),
    (10, lambda rows: len(rows) == 1 and rows[0]["base"] == "v1"
         and sorted(rows[0]["sharedTensors"]) == ["backbone.conv1.weight",
                                                  "backbone.conv2.weight"]
         and rows[0]["tensors"] == 3),
    (11, lambda rows: rows and all(r["adds"] == ["/World/Shelf_03"] for r in rows
                                   if "aisle_narrow" in r["variant"])),
    (12, lambda rows: [(r["version"], r["changed"]) for r in rows] == [
        (1, []), (2, ["input.options"])]),
    (13, lambda rows: len(rows) == 1 and len(rows[0]["metrics"]) == 4),
])


def test_every_cookbook_query_has_a_check() -> None:
    assert set(CHECKS) == set(range(1, len(QUERIES) + 1))


@pytest.mark.parametrize("number", sorted(CHECKS))
def test_cookbook_query_answers_as_documented(demo_graph: DemoGraph, number: int) -> None:
    rows = _run(demo_graph, number)
    assert CHECKS[number](rows), (QUERIES[number - 1][1], rows)


def test_stale_reads_are_found_where_a_run_pinned_an_old_version(db: Database) -> None:
    """Query 4 answers "none" on the demo, so it gets a graph where it must answer: two
    snapshots written a day apart, a run two days later pinning the first one (stale), and an
    unpinned run reading the latest (not stale)."""
    def run(day: int, **io: list[dict[str, Any]]) -> list[dict[str, Any]]:
        run_id, job = new_run_id(), ("spark", "snapshot" if "outputs" in io else f"read_{day}")
        at = T0 + timedelta(days=day)
        return [run_event("START", run_id, job, at, **io),
                run_event("COMPLETE", run_id, job, at + timedelta(hours=1), **io)]

    old, new = "2026-03-02", "2026-03-03"
    pinned, unpinned = run(3, inputs=[ds("s3://lake", "snapshots", version=old)]), run(
        3, inputs=[ds("s3://lake", "snapshots")])
    events = [*run(1, outputs=[ds("s3://lake", "snapshots", version=old)]),
              *run(2, outputs=[ds("s3://lake", "snapshots", version=new)]), *pinned, *unpinned]
    assert IngestService(db).ingest_raw([(e, None) for e in events]).count("accepted") == 8
    _, _, cypher = QUERIES[3]
    assert query(db, cypher) == [{"run": pinned[0]["run"]["runId"], "dataset": "snapshots",
                                  "versionRead": old, "newerVersions": [new], "pinned": True}]
