"""Retention (docs/costs.md#retention): remove runs older than a cutoff, past the latest few of
each job, with their facets and the text of their records, keeping the ledger verifiable.

What stays: every job, dataset, dataset version and model version (so everything a kept node
reaches is still there), runs that trained or evaluated a model version, and every record's
place in the hash chain (sequence, sha256, chain hash): a pruned record loses only its text
(``raw``) and gains ``prunedAt``, so ``ledger verify`` still recomputes the whole chain. The
pruning itself is a record (type ``retention``), so the ledger says what went, when and why."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import neo4j

from lineage_graph.db import retention as q
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError
from lineage_graph.ledger import append
from lineage_graph.ledger.pruning import seq_digest
from lineage_graph.ledger.receipt import Receipt

CHUNK_RUNS = 500  # runs pruned per transaction

_AGE = re.compile(r"(\d+)([hdw])")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w`` (at most 100 years)."""
    found = _AGE.fullmatch(text.strip())
    amount = int(found.group(1)) if found is not None else 0
    if found is None or not 0 < amount * _UNIT[found.group(2)].total_seconds() <= _LONGEST:
        raise InvalidRequestError(f"--older-than must be a positive age such as 90d, 12h or 2w "
                                  f"(at most 100 years), not {text!r}", field="older-than")
    return amount * _UNIT[found.group(2)]


_LONGEST = 100 * 366 * 86400.0


@dataclass(frozen=True)
class RetentionReport:
    cutoff: str
    keep_runs_per_job: int
    runs: int
    facets: int
    records: int
    bytes: int  # facet payloads and record text removed (UTF-8 characters)
    applied: bool  # False: --dry-run

    def as_dict(self) -> dict[str, object]:
        return {"cutoff": self.cutoff, "keepRunsPerJob": self.keep_runs_per_job,
                "runs": self.runs, "facets": self.facets, "records": self.records,
                "bytes": self.bytes, "applied": self.applied}


def apply_retention(db: Database, older_than: timedelta, keep_runs_per_job: int = 0,
                    dry_run: bool = False, now: datetime | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> RetentionReport:
    """Prune (or with ``dry_run`` only count) the runs that ended before now - older_than,
    past the ``keep_runs_per_job`` latest of each job. Chunk by chunk: an interrupted run
    leaves whole runs pruned or kept (each chunk with its retention record), and running it
    again finishes the work."""
    if keep_runs_per_job < 0:
        raise InvalidRequestError("--keep-runs-per-job must be 0 or more",
                                  field="keep-runs-per-job")
    cutoff = ((now or datetime.now(UTC)) - older_than).isoformat()
    run_ids = db.read(partial(q.old_runs, cutoff=cutoff, keep=keep_runs_per_job))
    chunks = [run_ids[start:start + CHUNK_RUNS] for start in range(0, len(run_ids), CHUNK_RUNS)]
    # A dry run counts what would go; a real one counts what went, as it prunes.
    totals = {"runs": 0, "facets": 0, "facetBytes": 0, "records": 0, "recordBytes": 0}
    for done, chunk in enumerate(chunks, start=1):
        if dry_run:
            found = db.read(partial(q.what_pruning_removes, run_ids=chunk))
        else:
            found = db.write(partial(_prune_and_record, run_ids=chunk, cutoff=cutoff,
                                     keep=keep_runs_per_job))
            if on_progress is not None:
                on_progress(min(done * CHUNK_RUNS, len(run_ids)), len(run_ids))
        for key in totals:
            totals[key] += int(found[key] or 0)
    return RetentionReport(cutoff=cutoff, keep_runs_per_job=keep_runs_per_job,
                           runs=totals["runs"], facets=totals["facets"],
                           records=totals["records"],
                           bytes=totals["facetBytes"] + totals["recordBytes"],
                           applied=not dry_run and bool(run_ids))


def _prune_and_record(tx: neo4j.ManagedTransaction, run_ids: list[str], cutoff: str,
                      keep: int) -> dict[str, Any]:
    """One chunk, in one transaction under the sequence lock: prune the runs and append the
    retention record that names what went (when: its receipt time, every pruned record's
    prunedAt; which: a digest of their sequence numbers). So the ledger never holds a pruned
    record no retention record names, even if the command is interrupted."""
    receipt = Receipt.now()
    done: list[dict[str, Any]] = []

    def prune() -> dict[str, object] | None:
        found = q.prune_runs(tx, run_ids, cutoff, receipt.received_at_ms)
        done.append(found)
        if not found["runs"]:
            return None
        return {"action": "apply", "cutoff": cutoff, "keepRunsPerJob": keep,
                "runs": found["runs"], "prunedAtMs": receipt.received_at_ms,
                "prunedRecords": len(found["seqs"]), "prunedSeqsSha256": seq_digest(found["seqs"])}

    append.record_made_change(tx, "retention", "RetentionApplied", receipt.row(), prune)
    [found] = done
    return {**found, "records": len(found["seqs"])}
