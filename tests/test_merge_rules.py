"""The merge rules of docs/ingestion.md, each in every arrival order and in one batch: equal
event times broken by the fixed state rank, equal facet times decided by the payload hash,
OTHER never changing a run's state, ABORT as a terminal state, and times without a zone read
as UTC (whatever the server's local zone)."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from tests.conftest import query, wipe
from tests.events import T0, facet, new_run_id, run_event

JOB = ("spark", "merge_rules")


def _arrivals(events: list[dict[str, Any]]) -> list[list[list[dict[str, Any]]]]:
    """Every order of ``events``, one event per call; and all of them in one batch."""
    orders: list[list[list[dict[str, Any]]]] = [
        [[e] for e in order] for order in itertools.permutations(events)]
    return [*orders, [events]]


def _run(db: Database, run_id: str) -> dict[str, Any]:
    [row] = query(db, "MATCH (r:Run {runId: $id}) RETURN r {.state, .startedAt, .endedAt} AS r",
                  id=run_id)
    return {k: (v.to_native() if hasattr(v, "to_native") else v) for k, v in row["r"].items()}


def _each_arrival(db: Database, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run as each arrival order leaves it (the database emptied in between)."""
    outcomes = []
    for calls in _arrivals(events):
        wipe(db)
        service = IngestService(db)
        for call in calls:
            assert service.ingest_raw([(e, None) for e in call]).count("rejected") == 0
        outcomes.append(_run(db, events[0]["run"]["runId"]))
    return outcomes


@pytest.mark.parametrize(("first", "second", "winner"), [
    ("START", "RUNNING", "RUNNING"),
    ("ABORT", "FAIL", "FAIL"),
    ("FAIL", "COMPLETE", "COMPLETE"),
    ("ABORT", "COMPLETE", "COMPLETE"),
])
def test_equal_event_times_are_broken_by_the_fixed_rank(db: Database, first: str, second: str,
                                                        winner: str) -> None:
    rid = new_run_id()
    events = [run_event(first, rid, JOB, T0), run_event(second, rid, JOB, T0)]
    states = {r["state"] for r in _each_arrival(db, events)}
    assert states == {winner}


@pytest.mark.parametrize("terminal", ["COMPLETE", "FAIL", "ABORT"])
def test_a_terminal_state_wins_in_every_arrival_order(db: Database, terminal: str) -> None:
    rid = new_run_id()
    events = [run_event("START", rid, JOB, T0),
              run_event(terminal, rid, JOB, T0 + timedelta(minutes=5)),
              run_event("RUNNING", rid, JOB, T0 + timedelta(minutes=9))]  # later, not terminal
    for run in _each_arrival(db, events):
        assert run == {"state": terminal, "startedAt": T0, "endedAt": T0 + timedelta(minutes=5)}


def test_other_never_changes_the_state(db: Database) -> None:
    rid = new_run_id()
    events = [run_event("START", rid, JOB, T0),
              run_event("OTHER", rid, JOB, T0 + timedelta(minutes=1)),
              run_event("COMPLETE", rid, JOB, T0 + timedelta(minutes=2)),
              run_event("OTHER", rid, JOB, T0 + timedelta(minutes=3))]
    for run in _each_arrival(db, events):
        assert run == {"state": "COMPLETE", "startedAt": T0,
                       "endedAt": T0 + timedelta(minutes=2)}
    wipe(db)
    only_other = run_event("OTHER", new_run_id(), JOB, T0)
    assert IngestService(db).ingest_raw([(only_other, None)]).count("accepted") == 1
    assert _run(db, only_other["run"]["runId"])["state"] is None


def _payload_hash(raw: dict[str, Any]) -> str:
    """The documented tie-break, computed here independently: sha256 of the facet's canonical
    JSON (sorted keys, no whitespace, UTF-8 kept)."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_equal_facet_times_are_decided_by_the_payload_hash(db: Database) -> None:
    rid = new_run_id()
    sql = {q: facet("SQLJobFacet", query=q) for q in ("SELECT 1", "SELECT 2", "SELECT 3")}
    events = [run_event("RUNNING", rid, JOB, T0, job_facets={"sql": f}) for f in sql.values()]
    expected = max(sql, key=lambda q: _payload_hash(sql[q]))
    for calls in _arrivals(events):
        wipe(db)
        for call in calls:
            IngestService(db).ingest_raw([(e, None) for e in call])
        [job] = query(db, """MATCH (j:Job {name: $name})-[:HAS_FACET]->(f:Facet {name: 'sql'})
                             RETURN j.sql AS sql, f.payload AS payload""", name=JOB[1])
        assert job["sql"] == expected  # the derived property follows the winning facet
        assert json.loads(job["payload"]) == sql[expected]


@pytest.fixture()
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone nine hours ahead of UTC: a naive time read as local time would
    land nine hours off."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    assert time.timezone == -9 * 3600
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_without_a_zone_are_read_as_utc(db: Database, far_from_utc: None) -> None:
    rid = new_run_id()
    start = run_event("START", rid, JOB, T0)
    start["eventTime"] = "2026-03-01T08:00:00"  # no zone: 08:00 UTC
    # 09:30+02:00 is 07:30 UTC: earlier than the naive START, so START keeps the state.
    running = run_event("RUNNING", rid, JOB, T0)
    running["eventTime"] = "2026-03-01T09:30:00+02:00"
    for run in _each_arrival(db, [start, running]):
        assert run["state"] == "START"
        assert run["startedAt"] == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
