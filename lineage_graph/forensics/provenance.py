"""Version-accurate upstream closure of a node, with the path that reached each node."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import neo4j

from lineage_graph.db import forensic_reads as q
from lineage_graph.db.connection import Database


@dataclass
class Provenance:
    """Everything upstream of ``root``. ``reached_from[n]`` is the (node, relationship) the walk
    first reached ``n`` from: following it back gives a shortest path from the root."""

    root: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    reached_from: dict[str, tuple[str, str]] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)  # node -> what it came from
    truncated: bool = False

    def path(self, node_id: str) -> list[str]:
        """Node ids from the root to ``node_id``."""
        path = [node_id]
        while path[-1] != self.root:
            path.append(self.reached_from[path[-1]][0])
        return path[::-1]

    def ancestors(self, node_id: str) -> set[str]:
        """Nodes upstream of ``node_id`` within this closure."""
        seen: set[str] = set()
        stack = list(self.parents.get(node_id, ()))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.parents.get(current, ()))
        return seen


def walk_provenance(db: Database, root: dict[str, Any], max_depth: int,
                    max_nodes: int) -> Provenance:
    """Breadth-first in one read transaction, one query per hop over the whole frontier: the
    cost grows with the closure, not with the graph."""
    return db.read(partial(_walk, root, max_depth, max_nodes))


def _walk(root: dict[str, Any], max_depth: int, max_nodes: int,
          tx: neo4j.ManagedTransaction) -> Provenance:
    found = Provenance(root=root["nodeId"])
    found.nodes[root["nodeId"]] = root
    frontier = [root["nodeId"]]
    for _ in range(max_depth):
        if not frontier:
            break
        # At most this many reached nodes: more would hold more new nodes than the walk can
        # take, and a hop keeps the first in elementId order, so the walk takes the same nodes
        # (and one collected list stays bounded: db/results.py).
        hop = q.provenance_hop(tx, frontier=frontier, per_hop=max_nodes + len(found.nodes) + 1,
                               within=None)
        next_frontier: list[str] = []
        for row in hop:
            node, target = row["node"], row["target"]
            nid = node["nodeId"]
            found.parents.setdefault(target, set()).add(nid)
            if nid in found.nodes:
                continue
            if len(found.nodes) >= max_nodes:
                found.truncated = True
                return found
            found.nodes[nid] = node
            found.reached_from[nid] = (target, row["via"])
            next_frontier.append(nid)
        frontier = next_frontier
    else:
        found.truncated = bool(frontier)
    return found
