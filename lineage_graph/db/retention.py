"""All Cypher of retention (``lineage-graph retention apply``): which runs are old enough to
go, and pruning them chunk by chunk."""

from __future__ import annotations

from typing import LiteralString

import neo4j

from lineage_graph.db.results import Row, column, one_row

# Runs that ended before $cutoff, past the $keep latest runs of their job (read in
# (jobId, startedAt) index order). Kept whatever their age: runs that trained or evaluated a
# model version (the model's provenance and metrics rest on them), runs an event only named
# (a parent known by reference has no times), and parents of runs still there (a pipeline's
# orchestrator run goes once its children have).
OLD_RUNS: LiteralString = """
MATCH (j:Job)
CALL (j) {
  MATCH (r:Run) USING INDEX r:Run(jobId, startedAt)
  WHERE r.jobId = j.nodeId AND r.startedAt IS NOT NULL
  WITH r ORDER BY r.jobId DESC, r.startedAt DESC, r.runId DESC
  SKIP $keep
  WITH r WHERE r.lastEventTime < datetime($cutoff)
    AND NOT EXISTS { (r)-[:TRAINED|MEASURED|EVALUATED]->() }
    AND NOT EXISTS { (:Run)-[:CHILD_OF]->(r) }
  RETURN r.runId AS runId
}
RETURN runId
ORDER BY runId
"""


def old_runs(tx: neo4j.ManagedTransaction, cutoff: str, keep: int) -> list[str]:
    return column(tx, OLD_RUNS, "runId", cutoff=cutoff, keep=keep)


# What pruning these runs removes: the runs, their facets, and the text of their records.
WHAT_PRUNING_REMOVES: LiteralString = """
UNWIND $runIds AS id
MATCH (r:Run {runId: id})
CALL (r) {
  OPTIONAL MATCH (r)-[:HAS_FACET]->(f:Facet)
  RETURN count(f) AS facets, sum(size(coalesce(f.payload, ''))) AS facetBytes
}
CALL (r) {
  OPTIONAL MATCH (e:Event {runId: r.runId}) WHERE e.raw IS NOT NULL
  RETURN count(e) AS records, sum(size(e.raw)) AS recordBytes
}
RETURN count(r) AS runs, sum(facets) AS facets, sum(facetBytes) AS facetBytes,
       sum(records) AS records, sum(recordBytes) AS recordBytes
"""


def what_pruning_removes(tx: neo4j.ManagedTransaction, run_ids: list[str]) -> Row:
    """``runs``, ``facets``, ``facetBytes``, ``records`` and ``recordBytes`` it would remove."""
    return one_row(tx, WHAT_PRUNING_REMOVES, runIds=run_ids)


# The records keep their place in the chain (sequence, sha256, chain hash): only the text as
# received goes, marked with when it went (the retention record's receipt time). The rule is
# checked again here: a run that got a late event or trained a model since it was selected
# stays. A run with a child run left is kept until its children are gone (a kept child's
# record names its parent).
PRUNE_RUNS: LiteralString = """
UNWIND $runIds AS id
MATCH (r:Run {runId: id})
WHERE r.lastEventTime < datetime($cutoff)
  AND NOT EXISTS { (r)-[:TRAINED|MEASURED|EVALUATED]->() }
  AND NOT EXISTS { (:Run)-[:CHILD_OF]->(r) }
CALL (r) {
  OPTIONAL MATCH (e:Event {runId: r.runId}) WHERE e.raw IS NOT NULL
  WITH e, size(e.raw) AS bytes
  SET e.raw = null, e.prunedAt = datetime({epochMillis: $atMs})
  RETURN collect(e.seq) AS seqs, coalesce(sum(bytes), 0) AS recordBytes
}
CALL (r) {
  OPTIONAL MATCH (r)-[:HAS_FACET]->(f:Facet)
  WITH f, CASE WHEN f IS NOT NULL THEN size(coalesce(f.payload, '')) END AS bytes
  DETACH DELETE f
  RETURN count(bytes) AS facets, coalesce(sum(bytes), 0) AS facetBytes
}
DETACH DELETE r
RETURN count(*) AS runs, reduce(found = [], s IN collect(seqs) | found + s) AS seqs,
       sum(facets) AS facets, sum(facetBytes) AS facetBytes, sum(recordBytes) AS recordBytes
"""


def prune_runs(tx: neo4j.ManagedTransaction, run_ids: list[str], cutoff: str,
               at_ms: int) -> Row:
    """Prune those of the runs the rule still selects: ``runs``, ``facets``, ``facetBytes``
    and ``recordBytes`` removed, and ``seqs``, the sequence numbers of the records whose text
    went."""
    return one_row(tx, PRUNE_RUNS, runIds=run_ids, cutoff=cutoff, atMs=at_ms)
