"""The spool file: records come back in order, exactly once, across commits, crashes between a
commit's two steps and a torn last line."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_graph.db.connection import Database
from lineage_graph.ingest.durable import DurableIngest, SpoolDrainer
from lineage_graph.ingest.service import IngestService
from lineage_graph.ingest.spool import Spool


def _texts(spool: Spool) -> list[str]:
    return [e.text for e in spool.pending(10_000)]


def test_records_come_back_in_order_and_commit_consumes_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert not spool.has_pending() and spool.depth() == 0
    spool.append([("a", '{"n": 1}'), ("b", '{"n": 2}\n')])  # a text may hold newlines
    spool.append([("c", '{"n": "é"}')])
    assert spool.has_pending() and spool.depth() == 3
    first = spool.pending(2)
    assert [e.sha256 for e in first] == ["a", "b"] and first[1].text == '{"n": 2}\n'
    spool.commit(first)
    assert _texts(spool) == ['{"n": "é"}'] and spool.depth() == 1
    spool.commit(spool.pending(10))
    assert spool.depth() == 0 and spool.records_path.stat().st_size == 0  # fresh file
    spool.append([("d", "{}")])
    assert _texts(spool) == ["{}"]


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([("a", "{}")])
    with open(spool.records_path, "ab") as fh:
        fh.write(b'{"sha256": "b", "te')  # the process died mid-write: never acknowledged
    assert [e.sha256 for e in spool.pending(10)] == ["a"]
    assert spool.depth() == 1


def test_a_crash_between_offset_and_truncation_replays_instead_of_skipping(tmp_path: Path
                                                                           ) -> None:
    spool = Spool(tmp_path)
    spool.append([("a", "{}"), ("b", "{}")])
    # Simulate the crash: the offset was reset to 0 (first step) but the file not truncated.
    (tmp_path / "applied.offset").write_text("0")
    assert [e.sha256 for e in Spool(tmp_path).pending(10)] == ["a", "b"]  # replayed, not lost


def test_a_new_spool_object_sees_what_another_committed(tmp_path: Path) -> None:
    writer, drainer = Spool(tmp_path), Spool(tmp_path)
    writer.append([("a", "{}"), ("b", "{}"), ("c", "{}")])
    with drainer.draining():
        drainer.commit(drainer.pending(1))
    assert writer.depth() == 2 and [e.sha256 for e in writer.pending(5)] == ["b", "c"]


def test_only_one_drainer_at_a_time(tmp_path: Path) -> None:
    a, b = Spool(tmp_path), Spool(tmp_path)
    with a.draining() as mine:
        assert mine
        with b.draining(wait=False) as theirs:
            assert theirs is False
    with b.draining(wait=False) as theirs:
        assert theirs is True


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.tuples(st.just("append"), st.integers(1, 4)),
                                st.tuples(st.just("commit"), st.integers(1, 5))),
                      max_size=30))
def test_any_interleaving_delivers_every_record_once_in_order(
        tmp_path_factory: object, steps: list[tuple[str, int]]) -> None:
    directory = tmp_path_factory.mktemp("spool")  # type: ignore[attr-defined]
    spool = Spool(directory)
    appended: list[str] = []
    delivered: list[str] = []
    for op, n in steps:
        if op == "append":
            batch = [(f"s{len(appended) + i}", f"{{\"i\": {len(appended) + i}}}")
                     for i in range(n)]
            spool.append(batch)
            appended += [sha for sha, _ in batch]
        else:
            taken = spool.pending(n)
            delivered += [e.sha256 for e in taken]
            spool.commit(taken)
    rest = spool.pending(10_000)
    delivered += [e.sha256 for e in rest]
    assert delivered == appended


def test_the_drainer_applies_the_schema_once_neo4j_answers(db: Database, tmp_path: Path) -> None:
    """Start-up may find Neo4j down. Reads rely on the schema's indexes (their index hints fail
    without them), so the background drainer applies the schema as soon as Neo4j answers, not
    at the first write."""
    durable = DurableIngest(IngestService(db), Spool(tmp_path), db)
    assert not durable.schema_ready
    drainer = SpoolDrainer(durable, interval=0.05)
    drainer.start()
    try:
        deadline = time.monotonic() + 60
        while not durable.schema_ready and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        drainer.stop()
    assert durable.schema_ready
