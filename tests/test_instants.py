"""Instants read as three integers (lineage_graph/db/instants.py) are the datetimes the driver's
own DateTime gave: any instant with a UTC offset (what the platform stores), named zones under
today's rules, nanoseconds truncated the same way, the same ISO text in the Marquez shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import neo4j.time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_graph.db.connection import Database
from lineage_graph.db.instants import from_instant, instant
from lineage_graph.ingest.service import IngestService
from lineage_graph.marquez.shapes import iso
from tests.events import facet, pipeline

# One statement gives both forms of each value: the driver's DateTime and the triple.
_BOTH: Any = ("UNWIND $values AS text WITH datetime(text) AS t "
              "RETURN t AS hydrated, " + instant("t") + " AS triple")


def _both(db: Database, values: list[str]) -> list[tuple[Any, list[int]]]:
    rows = db.read(lambda tx: [(r["hydrated"], r["triple"])
                               for r in tx.run(_BOTH, values=values)])
    assert len(rows) == len(values)
    return rows


def _assert_same(db: Database, values: list[str]) -> None:
    for hydrated, triple in _both(db, values):
        native, ours = hydrated.to_native(), from_instant(triple)
        assert ours == native and ours is not None
        assert ours.utcoffset() == native.utcoffset(), (native, ours)
        assert iso(ours) == iso(native), (native, ours)


_OFFSETS = st.integers(min_value=-18 * 60, max_value=18 * 60).map(
    lambda minutes: "Z" if minutes == 0 else
    f"{'+' if minutes > 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")

_INSTANTS = st.builds(
    lambda moment, nanos, offset: moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}" + offset,
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=0, max_value=999_999_999), _OFFSETS)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_INSTANTS, min_size=1, max_size=40))
def test_any_instant_reads_as_the_drivers_datetime(db: Database, values: list[str]) -> None:
    _assert_same(db, values)


def test_edges_of_the_range_and_named_zones(db: Database) -> None:
    _assert_same(db, [
        "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z",  # just before the epoch
        "2026-03-01T08:00:00.000000999+02:00",  # nanoseconds below a microsecond
        "2026-03-01T08:00:00.123456789-09:30",
        "2026-03-29T02:30:00[Europe/Paris]", "2026-10-25T02:30:00[Europe/Paris]",
        "2026-06-01T12:00:00[America/St_Johns]", "1900-01-01T00:00:00.5[Europe/Paris]",
    ])


def test_null_stays_null(db: Database) -> None:
    assert db.read(lambda tx: tx.run("WITH null AS t RETURN " + instant("t") + " AS v"
                                     ).single()["v"]) is None  # type: ignore[arg-type]
    assert from_instant(None) is None


def test_a_utc_instant_is_written_with_z() -> None:
    moment = from_instant([1_767_225_600, 5_000, 0])
    assert moment == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=5)
    assert iso(moment) == "2026-01-01T00:00:00.000005Z"


def test_a_runs_instants_are_the_graph_models_datetime_properties() -> None:
    from neomodel import DateTimeProperty

    from lineage_graph import graph_model
    from lineage_graph.db.lineage_reads import RUN_INSTANTS

    declared = [name for name, prop in vars(graph_model.Run).items()
                if isinstance(prop, DateTimeProperty)]
    assert sorted(RUN_INSTANTS) == sorted(declared)


def _driver_datetimes(value: Any) -> int:
    if isinstance(value, neo4j.time.DateTime):
        return 1
    if isinstance(value, dict):
        return sum(_driver_datetimes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_driver_datetimes(v) for v in value)
    return 0


def test_lists_of_runs_jobs_datasets_and_versions_carry_no_driver_datetimes(
        db: Database, ingest: IngestService) -> None:
    """The lists of runs, jobs, datasets and dataset versions the REST and GraphQL APIs serve
    come back with datetimes made by db/instants.py: each driver DateTime in them costs about
    20 µs of Python. (Labels keep the driver's DateTime: their cursor needs its nanoseconds.)"""
    from lineage_graph.db import lineage_reads, marquez_reads
    from lineage_graph.ids import dataset_id, job_id, namespace_key

    events = pipeline(n_runs=3)
    events[1]["run"]["facets"]["nominalTime"] = facet(
        "NominalTimeRunFacet", nominalStartTime="2026-03-01T00:00:00Z",
        nominalEndTime="2026-03-02T00:00:00Z")
    assert ingest.ingest_raw([(e, None) for e in events]).count("rejected") == 0
    parent = events[0]["run"]["runId"]
    stage = job_id("spark", "stage_0")
    clean = dataset_id("s3://lake", "clean.frames")

    def read(tx: Any) -> dict[str, Any]:
        runs = lineage_reads.runs_of_job(tx, stage, 10)
        versions, _ = marquez_reads.dataset_versions_page(tx, clean, 10, 0)
        return {
            "runs": runs, "children": lineage_reads.children_of_run(tx, parent, 10),
            "versions": lineage_reads.versions_of_dataset(tx, clean, 10),
            "run": lineage_reads.run_by_run_id(tx, runs[0]["runId"]),
            "parent": lineage_reads.parent_of_run(tx, runs[0]["runId"]),
            "marquez jobs": marquez_reads.jobs_page(tx, namespace_key("spark"), 5, 10, 0),
            "marquez jobs by id": marquez_reads.jobs_by_id(tx, [stage], 5),
            "marquez datasets": marquez_reads.datasets_page(tx, namespace_key("s3://lake"),
                                                            10, 0),
            "marquez datasets by id": marquez_reads.datasets_by_id(tx, [clean]),
            "marquez versions": versions,
            "marquez version": marquez_reads.dataset_version(
                tx, clean, lineage_reads.versions_of_dataset(tx, clean, 1)[0]["nodeId"]),
            "marquez runs": marquez_reads.runs_of_job_page(tx, stage, 10, 0),
            "marquez run": marquez_reads.run(tx, runs[0]["runId"]),
        }

    found = db.read(read)
    assert len(found["runs"]) == 3 and len(found["children"]) == 6
    assert found["runs"][0]["startedAt"].tzinfo is not None
    assert found["parent"]["runId"] == parent
    assert [v["createdAt"] for v in found["versions"]] == sorted(
        (v["createdAt"] for v in found["versions"]), reverse=True)
    assert len(found["versions"]) == 3
    assert found["marquez version"]["run"]["startedAt"] is not None
    assert any(r["nominalStartTime"] == datetime(2026, 3, 1, tzinfo=UTC)
               for r in found["children"])
    assert {name: _driver_datetimes(rows) for name, rows in found.items()} == dict.fromkeys(
        found, 0)
