"""Version-accurate lineage (level VERSION): runs, the dataset versions they read and wrote,
model versions, scene variants and labeling schema versions, with no job-level shortcut.

Upstream it is the walk regression forensics uses (forensic_reads.provenance_hop); downstream
its reverse (forensic_reads.impact_hop). So two model versions trained by the same job into the
same dataset are told apart: a scene variant's impact reaches only the model version whose
training run read the frames rendered from it, not every version the job ever produced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import neo4j

from lineage_graph.db import forensic_reads as fq
from lineage_graph.lineage.names import display_name

if TYPE_CHECKING:
    from lineage_graph.lineage.service import LineageResult

# Relationships followed from a producer to what it produced (edge kind OUTPUT); VERSION_OF
# leads from a dataset to one of its versions (kind VERSION); every other one from what is
# consumed to its consumer (INPUT).
_OUTPUT_VIA = frozenset({"TRAINED", "WROTE_VERSION", "WROTE", "PRODUCED_VERSION", "HAS_VARIANT"})


def edge_kind(via: str) -> str:
    if via == "VERSION_OF":
        return "VERSION"
    return "OUTPUT" if via in _OUTPUT_VIA else "INPUT"


def version_node(tx: neo4j.ManagedTransaction, node_id: str) -> dict[str, Any] | None:
    """A lineage node or a dataset version, in the provenance shape."""
    return fq.node_or_dataset_version(tx, node_id)


def version_edges(tx: neo4j.ManagedTransaction, ids: list[str]) -> set[tuple[str, str, str]]:
    """Every version-level edge between two of ``ids`` (an answer's nodes): both hops, each
    kept to the nodes among ``ids``, so a hub's other readers are not sent."""
    edges: set[tuple[str, str, str]] = set()
    for row in fq.provenance_hop(tx, frontier=ids, per_hop=len(ids), within=ids):
        edges.add((row["node"]["nodeId"], row["target"], edge_kind(row["via"])))
    for row in fq.impact_hop(tx, frontier=ids, per_hop=len(ids), within=ids):
        edges.add((row["source"], row["node"]["nodeId"], edge_kind(row["via"])))
    return edges


def _hop_order(row: dict[str, Any]) -> tuple[str, str, str]:
    # elementId first, as the hop bounds its answer (see service._hop_order).
    # provenance_hop names the frontier node ``target``, impact_hop ``source``.
    return row["eid"], row["via"], row.get("target") or row.get("source") or ""


def summary(node: dict[str, Any]) -> dict[str, Any]:
    if node["kind"] == "DATASET_VERSION":
        return {"nodeId": node["nodeId"], "kind": "DATASET_VERSION",
                "namespace": node.get("datasetNamespace"), "name": display_name(node)}
    return {"nodeId": node["nodeId"], "kind": node["kind"], "namespace": node.get("namespace"),
            "name": node.get("name") or node.get("runId") or node.get("sceneId")}


def walk_versions(tx: neo4j.ManagedTransaction, start: str, ways: list[bool], depth: int,
                  cap: int, result: LineageResult) -> None:
    """Breadth-first in one transaction, one query per direction and hop over the frontier;
    ``ways`` holds True for upstream, False for downstream. Rows in elementId order (a stable
    walk order for pages), at most cap + 1 reached nodes per hop; past ``cap`` nodes no
    new node is taken. The caller reads the edges between the nodes taken (version_edges)."""
    seen = {up: {start} for up in ways}
    frontier = {up: [start] for up in ways}
    for _ in range(depth):
        if not any(frontier.values()):
            return
        for up in ways:
            if not frontier[up]:
                continue
            walk_hop = fq.provenance_hop if up else fq.impact_hop
            hop = walk_hop(tx, frontier=frontier[up], per_hop=cap + 1, within=None)
            reached: list[str] = []
            for row in sorted(hop, key=_hop_order):
                node = row["node"]
                if result.take(node["nodeId"], seen[up], cap, node, summary):
                    reached.append(node["nodeId"])
            frontier[up] = reached
