"""Nothing acknowledged is lost or stuck: a spool write cut short by a full disk is undone and
answered 503 (never 202), a record torn by a crash cannot swallow the records appended after it,
a corrupt line anywhere is quarantined and the drain goes on, and an event the database refuses
at drain time becomes a dead letter that an operator can list, retry or discard."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.errors import QueryTimeoutError, SpoolWriteError
from lineage_graph.ingest import spool as spool_module
from lineage_graph.ingest.dead_letters import DeadLetters
from lineage_graph.ingest.durable import DurableIngest
from lineage_graph.ingest.service import BatchResult, IngestService
from lineage_graph.ingest.spool import Spool
from lineage_graph.metrics import METRICS
from lineage_graph.openlineage.parse import parse_event
from lineage_graph.settings import Settings
from tests.conftest import LOCAL_BASE_URL, query
from tests.events import T0, ds, new_run_id, run_event
from tests.test_cli import cli


def _event(job: str = "spooled") -> dict[str, Any]:
    return run_event("COMPLETE", new_run_id(), ("airflow", job), T0,
                     outputs=[ds("pg", "public.t", fields=["a", "b"])])


def _record(event: dict[str, Any]) -> tuple[str, str]:
    parsed = parse_event(event, json.dumps(event))
    return parsed.sha256, parsed.text


def _poison() -> dict[str, Any]:
    """Valid for an older version (which spooled it), refused now: ordinalPosition beyond
    int64, which Neo4j cannot store."""
    event = _event("poison")
    event["outputs"][0]["facets"]["schema"]["fields"][0]["ordinalPosition"] = 2**64
    return event


def _spool_raw(spool: Spool, event: dict[str, Any]) -> str:
    """Append without validation, as an older version would have."""
    import hashlib

    text = json.dumps(event)
    sha = hashlib.sha256(text.encode()).hexdigest()
    spool.append([(sha, text)])
    return sha


def _metric(name: str) -> float:
    return METRICS.registry.get_sample_value(name) or 0.0


def _runs(db: Database) -> set[str]:
    return {r["job"] for r in query(db, "MATCH (j:Job)-[:HAS_RUN]->(:Run) RETURN j.name AS job")}


# -- writing ------------------------------------------------------------------------------------


def test_a_write_cut_short_by_a_full_disk_is_undone_and_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)
    spool.append([_record(_event("before"))])
    size = spool.records_path.stat().st_size
    real_write = os.write

    def disk_full(fd: int, data: Any) -> int:
        real_write(fd, bytes(data[: len(data) // 2]))  # half lands, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool_module.os, "write", disk_full)
    with pytest.raises(SpoolWriteError, match="ENOSPC"):
        spool.append([_record(_event("lost"))])
    monkeypatch.undo()
    assert spool.records_path.stat().st_size == size  # nothing of the refused call remains
    spool.append([_record(_event("after"))])
    assert [json.loads(e.text)["job"]["name"] for e in spool.pending(10)] == ["before", "after"]


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(spool_module.os, "write",
                        lambda fd, data: real_write(fd, bytes(data[:7])))  # 7 bytes a call
    spool = Spool(tmp_path)
    records = [_record(_event(f"job{i}")) for i in range(3)]
    spool.append(records)
    monkeypatch.undo()
    assert [(e.sha256, e.text) for e in spool.pending(10)] == records


def test_a_spool_that_cannot_write_answers_503_never_202(
        neo4j_server: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage_graph.web.app import create_app

    def disk_full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    nowhere = replace(neo4j_server, neo4j_uri="bolt://127.0.0.1:1", neo4j_password="x",
                      neo4j_retry_seconds=1, spool_dir_override=tmp_path)
    with TestClient(create_app(nowhere), base_url=LOCAL_BASE_URL) as client:
        monkeypatch.setattr(spool_module.os, "write", disk_full)
        single = client.post("/api/v1/lineage", json=_event())
        batch = client.post("/api/v1/lineage/batch", json=[_event(), _event()])
        monkeypatch.undo()
        for answer in (single, batch):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"] == "spool_unavailable"
        assert client.get("/healthz").json()["spool"]["depth"] == 0


# -- reading ------------------------------------------------------------------------------------


def test_a_torn_record_cannot_swallow_the_records_after_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([_record(_event("a"))])
    with open(spool.records_path, "ab") as fh:
        fh.write(b'{"sha256": "b", "te')  # the process died mid-write: never acknowledged
    spool.append([_record(_event("c")), _record(_event("d"))])
    pending = spool.pending(10)
    assert [e.corrupt is None for e in pending] == [True, False, True, True]
    assert [json.loads(e.text)["job"]["name"] for e in pending if e.corrupt is None] == [
        "a", "c", "d"]
    assert spool.depth() == 3


def test_a_corrupt_line_anywhere_is_quarantined_and_the_drain_goes_on(
        db: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([_record(_event("first"))])
    with open(spool.records_path, "ab") as fh:
        fh.write(b"\x00\xff garbage from a bad disk\n")
        fh.write(b'{"sha256": 1}\n')
    spool.append([_record(_event("last"))])
    quarantined_before = _metric("lineage_graph_spool_quarantined_total")
    done = DurableIngest(IngestService(db), spool, db).drain()
    assert done is not None and (done.applied, done.quarantined) == (2, 2)
    assert _runs(db) == {"first", "last"}
    assert not spool.has_pending() and spool.depth() == 0
    kept = spool.quarantined()
    assert [k["reason"].split(" (")[0] for k in kept] == [
        "not JSON", "not a spool record"]
    assert "garbage from a bad disk" in str(kept[0]["line"])
    assert _metric("lineage_graph_spool_quarantined_total") == quarantined_before + 2


# -- dead letters -------------------------------------------------------------------------------


def test_an_event_refused_at_drain_time_is_a_dead_letter_not_a_loss(
        db: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([_record(_event("before"))])
    poison = _spool_raw(spool, _poison())
    spool.append([_record(_event("after"))])
    lettered_before = _metric("lineage_graph_dead_lettered_total")
    done = DurableIngest(IngestService(db), spool, db).drain()
    assert done is not None and (done.applied, done.rejected) == (2, 1)
    assert _runs(db) == {"before", "after"}  # the events behind it were not blocked
    assert not spool.has_pending()
    [letter] = DeadLetters(tmp_path).list()
    assert letter.id == poison
    assert "ordinalPosition" in letter.reason and "64-bit" in letter.reason
    kept = json.loads(letter.text)  # the event as received, kept whole
    assert kept["outputs"][0]["facets"]["schema"]["fields"][0]["ordinalPosition"] == 2**64
    assert _metric("lineage_graph_dead_lettered_total") == lettered_before + 1


def test_a_write_that_always_times_out_is_set_aside(db: Database, tmp_path: Path) -> None:
    slow = _event("slow")
    slow_sha, _ = _record(slow)

    class TimesOutOnOneEvent(IngestService):
        def ingest_raw(self, raws: Any, receipts: Any = None) -> BatchResult:
            if any(isinstance(raw, dict) and raw["job"]["name"] == "slow" for raw, _ in raws):
                raise QueryTimeoutError("the query ran longer than 30 s and was stopped")
            return super().ingest_raw(raws, receipts)

    spool = Spool(tmp_path)
    spool.append([_record(_event("one")), _record(slow), _record(_event("two"))])
    done = DurableIngest(TimesOutOnOneEvent(db), spool, db).drain()
    assert done is not None and (done.applied, done.rejected) == (2, 1)
    assert _runs(db) == {"one", "two"}
    [letter] = DeadLetters(tmp_path).list()
    assert letter.id == slow_sha and "longer than" in letter.reason


def test_operators_list_retry_and_discard_dead_letters(
        neo4j_server: Settings, db: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    _spool_raw(spool, _event("fine"))
    poison = _spool_raw(spool, _poison())
    env = {"LINEAGE_GRAPH_SPOOL_DIR": str(tmp_path)}
    drained = cli(neo4j_server, "spool", "drain", **env)
    assert drained.returncode == 1, drained.stdout + drained.stderr
    assert "1 applied" in drained.stdout and "1 refused" in drained.stdout

    status = cli(neo4j_server, "spool", "status", "--json", **env)
    assert status.returncode == 1  # a dead letter needs an operator
    listed = json.loads(status.stdout)
    assert listed["waiting"] == 0
    assert [d["id"] for d in listed["deadLetters"]] == [poison]

    retried = cli(neo4j_server, "spool", "retry", poison[:12], **env)
    assert retried.returncode == 0, retried.stderr
    assert DeadLetters(tmp_path).list() == [] and spool.depth() == 1
    again = cli(neo4j_server, "spool", "drain", **env)  # still refused: a dead letter again
    assert "1 refused" in again.stdout and len(DeadLetters(tmp_path).list()) == 1

    unknown = cli(neo4j_server, "spool", "discard", "0000000000", **env)
    assert unknown.returncode == 1 and "no dead letter" in unknown.stderr + unknown.stdout
    discarded = cli(neo4j_server, "spool", "discard", poison, **env)
    assert discarded.returncode == 0, discarded.stderr
    assert DeadLetters(tmp_path).list() == []
    [kept] = [json.loads(line) for line in (tmp_path / "discarded.ndjson").read_text()
              .splitlines()]
    assert kept["id"] == poison and "discardedAt" in kept
    assert cli(neo4j_server, "spool", "status", **env).returncode == 0


def test_health_and_metrics_count_dead_letters(client: TestClient, neo4j_server: Settings,
                                               tmp_path: Path) -> None:
    state = client.app.state.lineage  # type: ignore[attr-defined]
    state.durable.dead_letters.add([("a" * 64, "{}", "refused by the database", None)])
    try:
        assert client.get("/healthz").json()["spool"]["deadLetters"] == 1
        metrics = client.get("/metrics").text
        assert "lineage_graph_dead_letters 1.0" in metrics
    finally:
        state.durable.dead_letters.discard("a" * 64)


def test_a_reader_never_sees_an_append_that_is_then_undone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by an attacker review: the drain read without the append lock, so it could
    apply complete lines of an append that failed afterwards (answered 503, cut back)."""
    import threading
    import time

    spool = Spool(tmp_path)
    spool.append([_record(_event("kept"))])
    real_write = os.write
    seen: list[list[str]] = []

    def write_then_fail(fd: int, data: Any) -> int:
        real_write(fd, bytes(data))  # every line of the append lands...
        reader = threading.Thread(target=lambda: seen.append(
            [json.loads(e.text)["job"]["name"] for e in Spool(tmp_path).pending(10)]))
        reader.start()
        time.sleep(0.3)  # ...and a drain reads meanwhile...
        raise OSError(errno.EIO, "the fsync-less write failed")  # ...then it is undone

    monkeypatch.setattr(spool_module.os, "write", write_then_fail)
    with pytest.raises(SpoolWriteError):
        spool.append([_record(_event("undone"))])
    monkeypatch.undo()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == [["kept"]]


def test_a_chunk_failing_while_neo4j_answers_does_not_block_the_drain(db: Database,
                                                                       tmp_path: Path) -> None:
    """Found by an attacker review: a lasting transient error (a transaction too large for
    Neo4j's memory pool) read as "Neo4j down", so the drain retried the same chunk for ever."""
    from lineage_graph.errors import Neo4jUnavailableError

    class TooLarge(IngestService):
        def ingest_raw(self, raws: Any, receipts: Any = None) -> BatchResult:
            if len(raws) > 1 or raws[0][0]["job"]["name"] == "huge":
                raise Neo4jUnavailableError("Neo4j is not taking work: MemoryPoolOutOfMemory")
            return super().ingest_raw(raws, receipts)

    spool = Spool(tmp_path)
    huge = _event("huge")
    spool.append([_record(_event("one")), _record(huge), _record(_event("two"))])
    done = DurableIngest(TooLarge(db), spool, db).drain()
    assert done is not None and (done.applied, done.rejected) == (2, 1)
    assert _runs(db) == {"one", "two"} and not spool.has_pending()
    [letter] = DeadLetters(tmp_path).list()
    assert letter.id == _record(huge)[0] and "while Neo4j answered" in letter.reason


def test_a_retried_dead_letter_keeps_the_receipt_it_arrived_with(
        neo4j_server: Settings, db: Database, tmp_path: Path) -> None:
    from lineage_graph.ledger.receipt import Receipt

    spool = Spool(tmp_path)
    poison = _poison()
    text = json.dumps(poison)
    import hashlib

    sha = hashlib.sha256(text.encode()).hexdigest()
    spool.append([(sha, text)], Receipt(1_700_000_000_000, "0123456789ab"))
    DurableIngest(IngestService(db), spool, db).drain()
    [letter] = DeadLetters(tmp_path).list()
    assert (letter.received_at_ms, letter.key_id) == (1_700_000_000_000, "0123456789ab")
    env = {"LINEAGE_GRAPH_SPOOL_DIR": str(tmp_path)}
    assert cli(neo4j_server, "spool", "retry", sha, **env).returncode == 0
    [again] = spool.pending(10)
    assert again.receipt == Receipt(1_700_000_000_000, "0123456789ab")


def test_neo4j_out_of_transaction_memory_is_too_large_not_unavailable(db: Database) -> None:
    """Found by re-running the scene benchmark: Neo4j classifies a transaction over its memory
    limit as transient, so it read as "Neo4j down" (503, and a drain retrying for ever) though
    the same write fails every time."""
    from neo4j.exceptions import Neo4jError

    from lineage_graph.errors import Neo4jUnavailableError, TransactionTooLargeError

    def refused(_: Any) -> None:
        raise Neo4jError._hydrate_neo4j(  # the driver's own constructor of server errors
            code="Neo.TransientError.General.MemoryPoolOutOfMemoryError",
            message="The allocation of an extra 3.0 MiB would use more than the limit 716.8 MiB")

    with pytest.raises(TransactionTooLargeError, match=r"dbms\.memory\.transaction\.total\.max"):
        db.in_session(refused)
    assert not issubclass(TransactionTooLargeError, Neo4jUnavailableError)
