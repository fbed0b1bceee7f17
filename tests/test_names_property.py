"""Property: any namespace and name (quotes, Cypher fragments, backticks, Unicode, long) is
stored and found exactly as sent; queries are parameterised, so no name can change a query."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from lineage_graph.lineage.service import Direction, LineageService
from tests.conftest import query, wipe
from tests.events import T0, ds, new_run_id, run_event

HOSTILE = st.sampled_from([
    "x' OR 1=1 //", 'a"b', "`backtick`", "}) DETACH DELETE n //", "$param", "名前/データ",
    "emoji 🚀", "tab\there", "a:b:c", "x" * 10_000,
])
NAMES = st.one_of(HOSTILE, st.text(min_size=1, max_size=60).filter(lambda s: "\x00" not in s))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(namespace=NAMES, name=NAMES, job_name=NAMES)
def test_any_name_round_trips(session_db: Database, namespace: str, name: str,
                              job_name: str) -> None:
    wipe(session_db)
    event = run_event("COMPLETE", new_run_id(), (namespace, job_name), T0,
                      outputs=[ds(namespace, name, ["col"])])
    result = IngestService(session_db).ingest_raw([(event, None)])
    assert result.count("accepted") == 1, result.outcomes
    service = LineageService(session_db, max_depth=5, max_limit=10)
    dataset = service.dataset(namespace, name)
    assert dataset is not None
    assert (dataset["namespace"], dataset["name"]) == (namespace, name)
    job = service.job(namespace, job_name)
    assert job is not None and job["name"] == job_name
    found = service.lineage(dataset["nodeId"], Direction.UPSTREAM, 1)
    assert set(found.nodes) == {dataset["nodeId"], job["nodeId"]}
    assert query(session_db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n")[0]["n"] > 0


def _parsed_uuid(run_id: str) -> str | None:
    """What Python's uuid module makes of a runId: its canonical form, or None."""
    import uuid

    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return None


_UUIDISH = st.one_of(
    st.text(max_size=40),
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: u.hex),
    st.uuids().map(lambda u: "{" + str(u) + "}"),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.uuids().map(lambda u: str(u) + "\n"),
    st.text(alphabet="0123456789abcdefABCDEF-", min_size=30, max_size=40),
)


@given(run_id=_UUIDISH)
def test_run_ids_read_as_uuids_exactly_as_the_uuid_module_reads_them(run_id: str) -> None:
    """ids.is_uuid matches instead of parsing (every event asks it several times): it must
    answer as parsing would, and canonical_run_id must give what parsing gives."""
    from lineage_graph.ids import canonical_run_id, is_uuid

    parsed = _parsed_uuid(run_id)
    assert is_uuid(run_id) == (parsed == run_id)
    assert canonical_run_id(run_id) == (parsed if parsed is not None else run_id)
