"""Lineage answers are bounded: `first` nodes per page in a stable walk order, `truncated` and a
cursor while more remain, never a silent cut; a job's runs are summarised as a count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ids import dataset_id
from lineage_graph.ingest.service import IngestService
from tests.conftest import graphql_data
from tests.events import T0, ds, new_run_id, run_event

FAN_JOBS = 30
SOURCE = dataset_id("s3://fan", "source")
LINEAGE = """query($id: ID!, $first: Int, $after: String, $level: LineageLevel) {
  lineage(nodeId: $id, direction: BOTH, depth: 3, level: $level, first: $first,
          after: $after) {
    nodes { id kind runCount } edges { source target kind } truncated nextCursor } }"""
ANY_LINEAGE = """query($id: ID!, $first: Int, $after: String, $level: LineageLevel,
                   $direction: LineageDirection!, $depth: Int!) {
  lineage(nodeId: $id, direction: $direction, depth: $depth, level: $level, first: $first,
          after: $after) {
    nodes { id kind runCount } edges { source target kind } truncated nextCursor } }"""
IMPACT = """query($id: ID!, $first: Int, $after: String) {
  impact(nodeId: $id, depth: 5, first: $first, after: $after) {
    nodes { id kind } edges { source target kind } truncated nextCursor } }"""


@pytest.fixture()
def fan(ingest: IngestService) -> None:
    """One source read by FAN_JOBS jobs, each writing two datasets; job 0 ran three times."""
    events = []
    for i in range(FAN_JOBS):
        for attempt in range(3 if i == 0 else 1):
            events.append(run_event(
                "COMPLETE", new_run_id(), ("fan", f"job_{i:02d}"),
                T0 + timedelta(minutes=i, seconds=attempt), [ds("s3://fan", "source")],
                [ds("s3://fan", f"out/{i:02d}/a"), ds("s3://fan", f"out/{i:02d}/b")]))
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == len(events)


def _all_pages(client: TestClient, query: str, field: str, first: int,
               **variables: Any) -> list[dict[str, Any]]:
    pages = []
    after = None
    while True:
        page = graphql_data(client, query, first=first, after=after, **variables)[field]
        pages.append(page)
        if not page["truncated"]:
            assert page["nextCursor"] is None
            return pages
        after = page["nextCursor"]
        assert after is not None and len(pages) < 50


def _edges(page: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["kind"]) for e in page["edges"]}


def test_pages_add_up_to_the_whole_answer(client: TestClient, fan: None) -> None:
    whole = graphql_data(client, LINEAGE, id=SOURCE)["lineage"]
    assert not whole["truncated"] and len(whole["nodes"]) == 1 + FAN_JOBS * 3
    pages = _all_pages(client, LINEAGE, "lineage", 25, id=SOURCE)
    assert [len(p["nodes"]) for p in pages] == [25, 25, 25, 16]
    assert all(p["truncated"] for p in pages[:-1])
    ids = [n["id"] for p in pages for n in p["nodes"]]
    assert len(ids) == len(set(ids)) and set(ids) == {n["id"] for n in whole["nodes"]}
    assert set().union(*map(_edges, pages)) == _edges(whole)
    # Each page's edges touch its own nodes and end on it or on an earlier page.
    seen: set[str] = set()
    for page in pages:
        here = {n["id"] for n in page["nodes"]}
        seen |= here
        assert all({s, t} <= seen and {s, t} & here for s, t, _ in _edges(page))


def test_the_walk_order_is_stable(client: TestClient, fan: None) -> None:
    first = graphql_data(client, LINEAGE, id=SOURCE, first=10)["lineage"]
    again = graphql_data(client, LINEAGE, id=SOURCE, first=10)["lineage"]
    assert first == again
    assert first["nodes"][0]["id"] == SOURCE  # the start comes first


def test_version_level_impact_pages_too(client: TestClient, fan: None) -> None:
    whole = graphql_data(client, IMPACT, id=SOURCE)["impact"]
    pages = _all_pages(client, IMPACT, "impact", 20, id=SOURCE)
    assert len(pages) > 1
    ids = [n["id"] for p in pages for n in p["nodes"]]
    assert len(ids) == len(set(ids)) and set(ids) == {n["id"] for n in whole["nodes"]}
    assert set().union(*map(_edges, pages)) == _edges(whole)


def test_a_job_summarises_its_runs_as_a_count(client: TestClient, fan: None) -> None:
    nodes = graphql_data(client, LINEAGE, id=SOURCE)["lineage"]["nodes"]
    counts = {n["id"]: n["runCount"] for n in nodes}
    assert counts["job:fan:job_00"] == 3
    assert counts["job:fan:job_01"] == 1
    assert counts[SOURCE] is None


@pytest.mark.parametrize("variables, message", [
    ({"first": 0}, "first must be between 1 and"),
    ({"first": 10_001}, "first must be between 1 and"),
    ({"after": "bm90IGEgY3Vyc29y"}, "after: not a cursor"),
    ({"after": "%%%"}, "after: not a cursor"),
])
def test_bad_pages_are_refused(client: TestClient, fan: None, variables: dict[str, Any],
                               message: str) -> None:
    body = client.post("/graphql", json={"query": LINEAGE,
                                         "variables": {"id": SOURCE, **variables}}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert message in body["errors"][0]["message"]


def test_a_cursor_only_serves_the_question_that_made_it(client: TestClient, fan: None,
                                                        db: Database) -> None:
    cursor = graphql_data(client, LINEAGE, id=SOURCE, first=5)["lineage"]["nextCursor"]
    other = dataset_id("s3://fan", "out/00/a")
    body = client.post("/graphql", json={"query": LINEAGE, "variables": {
        "id": other, "first": 5, "after": cursor}}).json()
    assert "after: not a cursor" in body["errors"][0]["message"]
    # The same question with another page size may go on from it.
    assert graphql_data(client, LINEAGE, id=SOURCE, first=7, after=cursor)["lineage"]["nodes"]


@pytest.fixture()
def cycle(ingest: IngestService) -> None:
    """Job A reads S and B and writes X; job K reads X and B and writes S: a cycle through S,
    where a BOTH walk reaches some nodes one way first and the other way later."""
    def data(name: str) -> dict[str, Any]:
        return ds("s3://cyc", name)

    events = [run_event("COMPLETE", new_run_id(), ("cyc", "A"), T0, [data("S"), data("B")],
                        [data("X")]),
              run_event("COMPLETE", new_run_id(), ("cyc", "K"), T0 + timedelta(hours=1),
                        [data("X"), data("B")], [data("S")])]
    assert ingest.ingest_raw([(e, None) for e in events]).count("accepted") == 2


@pytest.mark.parametrize("direction, level", [("BOTH", "JOB"), ("BOTH", "RUN"),
                                              ("UPSTREAM", "JOB"), ("DOWNSTREAM", "VERSION")])
def test_every_page_size_gives_the_same_answer_on_a_cycle(
        client: TestClient, cycle: None, direction: str, level: str) -> None:
    """Found by a review: a page that stopped before a node reached the other way lost the
    edges that node's walk would have found. Edges are read for the nodes taken, so any page
    size adds up to the same nodes and edges."""
    start = dataset_id("s3://cyc", "S")
    if level == "RUN":  # from job A's run
        start = graphql_data(client, """query { job(namespace: "cyc", name: "A") {
            latestRun { id } } }""")["job"]["latestRun"]["id"]
    asked = {"id": start, "level": level, "direction": direction, "depth": 4}
    whole = graphql_data(client, ANY_LINEAGE, **asked)["lineage"]
    assert not whole["truncated"] and len(whole["nodes"]) > 2
    for first in range(1, len(whole["nodes"]) + 1):
        pages = _all_pages(client, ANY_LINEAGE, "lineage", first, **asked)
        ids = [n["id"] for p in pages for n in p["nodes"]]
        assert ids == [n["id"] for n in whole["nodes"]], first
        assert set().union(*map(_edges, pages)) == _edges(whole), first


def test_edges_are_every_relationship_between_the_answers_nodes(
        client: TestClient, cycle: None, db: Database) -> None:
    whole = graphql_data(client, ANY_LINEAGE, id=dataset_id("s3://cyc", "S"), level="JOB",
                         direction="BOTH", depth=4)["lineage"]
    ids = [n["id"] for n in whole["nodes"]]
    stored = db.read(lambda tx: [tuple(r.values()) for r in tx.run("""
        MATCH (a:LineageNode)-[rel:READS|WRITES]->(b:LineageNode)
        WHERE a.nodeId IN $ids AND b.nodeId IN $ids
        RETURN CASE type(rel) WHEN 'READS' THEN b.nodeId ELSE a.nodeId END AS source,
               CASE type(rel) WHEN 'READS' THEN a.nodeId ELSE b.nodeId END AS target,
               CASE type(rel) WHEN 'READS' THEN 'INPUT' ELSE 'OUTPUT' END AS kind""", ids=ids)])
    assert _edges(whole) == set(stored) and len(stored) == 6


def test_pages_end_at_ten_node_limits_into_the_walk(db: Database, fan: None) -> None:
    """A page may not ask the walk to take more than 10 times the node limit, cursor or not:
    the refusal says so (not that the cursor is unknown)."""
    from lineage_graph.errors import InvalidRequestError
    from lineage_graph.lineage import paging
    from lineage_graph.lineage.service import Direction, LineageService

    service = LineageService(db, max_depth=10, max_limit=100, max_nodes=5)
    key = paging.question_key(SOURCE, Direction.BOTH, 3, None, None)
    last = service.lineage(SOURCE, Direction.BOTH, 3, first=5,
                           after=paging.next_cursor(45, key))
    assert len(last.nodes) == 5 and last.truncated
    with pytest.raises(InvalidRequestError, match="pages end at 50 nodes into the walk"):
        service.lineage(SOURCE, Direction.BOTH, 3, first=5, after=last.next_cursor)
