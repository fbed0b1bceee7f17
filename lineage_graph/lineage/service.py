"""Answer lineage questions: look nodes up, walk lineage hop by hop, search.

Lineage is walked breadth-first with one parameterised query per hop over the whole frontier,
so a depth-d walk costs at most d round trips and its work grows with the answer, not with the
size of the graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any

import neo4j

from lineage_graph.db import lineage_reads as q
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError, NotFoundError
from lineage_graph.ids import bounded, canonical_run_id, dataset_id, job_id
from lineage_graph.limits import check_depth, check_limit
from lineage_graph.lineage import versions


class Direction(StrEnum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


class Level(StrEnum):
    """What a lineage walk is made of (docs/forensics.md#levels)."""

    JOB = "JOB"  # jobs and datasets: every run of a job folded into the job
    RUN = "RUN"  # runs and datasets
    VERSION = "VERSION"  # runs, dataset versions, model versions: what each run actually read


# (input relationship types, output relationship types) in data-flow terms: an input rel points
# from the consumer to what it consumes, an output rel from the producer to what it produces.
# A scene version produces its scene variants; a dataset rendered from a scene variant
# consumes it.
# A labeling session consumes the dataset it labels and its schema versions, and produces its
# labels dataset.
# A dataset labeled elsewhere (labelingSchema facet) consumes its schema versions.
# A model version consumes the dataset that stores it and its base model; an evaluation run
# consumes the model version it evaluated.
_EXTRA_INPUTS = ["FROM_SCENE_VARIANT", "LABELS", "USES_SCHEMA", "LABELED_WITH", "STORED_IN",
                 "DERIVED_FROM_MODEL", "EVALUATED"]
_EXTRA_OUTPUTS = ["HAS_VARIANT", "PRODUCES"]
JOB_LEVEL = (["READS", *_EXTRA_INPUTS], ["WRITES", *_EXTRA_OUTPUTS])
RUN_LEVEL = (["READ", *_EXTRA_INPUTS], ["WROTE", *_EXTRA_OUTPUTS])


@dataclass
class LineageResult:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: set[tuple[str, str, str]] = field(default_factory=set)
    truncated: bool = False


class LineageService:
    def __init__(self, db: Database, max_depth: int, max_limit: int, max_nodes: int = 10_000):
        self.db = db
        self.max_depth = max_depth
        self.max_limit = max_limit
        self.max_nodes = max_nodes

    # -- lookups ------------------------------------------------------------------------------

    def node(self, node_id: str) -> dict[str, Any] | None:
        """A node by id (a run's UUID in any case; a dataset by one of its aliases)."""
        key = bounded(canonical_run_id(node_id))
        return self.db.read(lambda tx: q.one_node(tx, q.NODE_BY_ID, nodeId=key))

    def require_node(self, node_id: str) -> dict[str, Any]:
        node = self.node(node_id)
        if node is None:
            raise NotFoundError(f"no node with id {node_id!r}")
        return node

    def dataset(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.db.read(
            lambda tx: q.one_node(tx, q.NODE_BY_ID, nodeId=dataset_id(namespace, name))
        )

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.one_node(tx, q.NODE_BY_ID, nodeId=job_id(namespace, name)))

    def run(self, run_id: str) -> dict[str, Any] | None:
        key = canonical_run_id(run_id)  # a UUID as the emitter wrote it, capitals included
        return self.db.read(lambda tx: q.one_node(tx, q.RUN_BY_RUN_ID, runId=key))

    def facets(self, node_id: str, place: str = "") -> dict[str, Any]:
        found = self.db.read(lambda tx: q.rows(tx, q.FACETS_OF_NODE, nodeId=node_id, place=place))
        return {row["name"]: json.loads(row["payload"]) for row in found}

    def versions(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        return self.db.read(
            lambda tx: q.rows(tx, q.VERSIONS_OF_DATASET, nodeId=node_id, limit=limit)
        )

    def aliases(self, node_id: str) -> list[dict[str, Any]]:
        return self.db.read(lambda tx: q.rows(tx, q.ALIASES_OF_DATASET, nodeId=node_id))

    def fields(self, node_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        return self.db.read(lambda tx: q.rows(tx, q.FIELDS_OF_DATASET, nodeId=node_id,
                                              limit=limit))

    def column_lineage(self, node_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Field-to-source-field pairs, at most ``limit`` of them."""
        limit = self.check_limit(limit)
        return self.db.read(lambda tx: q.rows(tx, q.COLUMN_LINEAGE_OF_DATASET, nodeId=node_id,
                                              limit=limit))

    def runs_of_job(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        found = self.db.read(lambda tx: q.rows(tx, q.RUNS_OF_JOB, nodeId=node_id, limit=limit))
        return [row["node"] for row in found]

    def job_of_run(self, run_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.one_node(tx, q.JOB_OF_RUN, runId=run_id))

    def parent_of_run(self, run_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.one_node(tx, q.PARENT_OF_RUN, runId=run_id))

    def children_of_run(self, run_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        found = self.db.read(lambda tx: q.rows(tx, q.CHILDREN_OF_RUN, runId=run_id, limit=limit))
        return [row["node"] for row in found]

    def run_io(self, run_id: str, outputs: bool, limit: int | None = None
               ) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        query = q.OUTPUTS_OF_RUN if outputs else q.INPUTS_OF_RUN
        return self.db.read(lambda tx: q.rows(tx, query, runId=run_id, limit=limit))

    def search(self, text: str, kinds: list[str], limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        if not text.strip():
            raise InvalidRequestError("search query must not be empty", field="query")
        found = self.db.read(
            lambda tx: q.rows(tx, q.SEARCH_NODES, query=_lucene_query(text), kinds=kinds,
                              limit=limit)
        )
        if not found:
            # Fulltext tokenises names; a plain substring still finds "orders_v2" in "s.orders_v2".
            found = self.db.read(
                lambda tx: q.rows(tx, q.SEARCH_NODES_BY_SUBSTRING, query=text, kinds=kinds,
                                  limit=limit)
            )
        return [row["node"] for row in found]

    # -- lineage ------------------------------------------------------------------------------

    def lineage(self, node_id: str, direction: Direction, depth: int,
                as_of: datetime | None = None, level: Level | None = None) -> LineageResult:
        """Lineage around a node; with ``as_of``, only what events up to that time showed.
        ``level`` None: JOB from a dataset or job, RUN from a run, as before levels existed."""
        check_depth(depth, self.max_depth)
        if as_of is not None and as_of.tzinfo is None:
            raise InvalidRequestError("asOf needs a time zone (e.g. 2026-03-01T08:00:00Z)",
                                      field="asOf")
        directions = [Direction.UPSTREAM, Direction.DOWNSTREAM] if direction is Direction.BOTH \
            else [direction]
        ways = [way is Direction.UPSTREAM for way in directions]
        result = LineageResult()
        if level is Level.VERSION:
            if as_of is not None:
                raise InvalidRequestError("asOf applies to the JOB and RUN levels", field="asOf")
            named = self.node(node_id)  # resolves an alias; a dataset version is not a node
            if named is not None and named["kind"] == "JOB":
                raise InvalidRequestError("level VERSION walks runs and dataset versions: start "
                                          "from one of the job's runs, or ask for level JOB",
                                          field="level")
            start_id = named["nodeId"] if named is not None else bounded(node_id)
            self.db.read(partial(self._walk_versions, start_id, ways, depth, result))
            return result
        start = self.require_node(node_id)
        node_id = start["nodeId"]
        if level is None:
            level = Level.RUN if start["kind"] == "RUN" else Level.JOB
        if level is Level.JOB and start["kind"] == "RUN":
            raise InvalidRequestError("level JOB walks jobs and datasets: start from the run's "
                                      "job (job:NAMESPACE:NAME), or ask for level RUN",
                                      field="level")
        if level is Level.RUN and start["kind"] == "JOB":
            raise InvalidRequestError("level RUN walks runs and datasets: start from one of "
                                      "the job's runs, or ask for level JOB", field="level")
        rels = RUN_LEVEL if level is Level.RUN else JOB_LEVEL
        result.nodes[node_id] = _summary(start)
        at = None if as_of is None else as_of.isoformat()
        self.db.read(partial(self._walk, node_id, ways, depth, rels, result, at))
        return result

    def _walk_versions(self, node_id: str, ways: list[bool], depth: int, result: LineageResult,
                       tx: neo4j.ManagedTransaction) -> None:
        start = versions.version_node(tx, node_id)
        if start is None:
            raise NotFoundError(f"no node with id {node_id!r}")
        result.nodes = {node_id: versions.summary(start)}
        result.edges.clear()
        result.truncated = False
        versions.walk_versions(tx, node_id, ways, depth, self.max_nodes, result)

    def _walk(self, start: str, ways: list[bool], depth: int,
              rels: tuple[list[str], list[str]], result: LineageResult, as_of: str | None,
              tx: neo4j.ManagedTransaction) -> None:
        """Breadth-first in one read transaction: one query per hop, carrying the frontier of
        every direction at once (``up``: upstream), each direction with its own seen set."""
        result.nodes = {start: result.nodes[start]}
        result.edges.clear()
        result.truncated = False
        seen = {up: {start} for up in ways}
        frontier = [{"id": start, "up": up} for up in ways]
        for _ in range(depth):
            if not frontier:
                return
            hop = q.rows(tx, q.LINEAGE_HOP, frontier=frontier, inputRels=rels[0],
                         outputRels=rels[1], asOf=as_of)
            next_frontier: list[dict[str, Any]] = []
            for row in hop:
                node, up = row["node"], row["up"]
                result.edges.add((row["source"], row["target"], row["edgeKind"]))
                nid = node["nodeId"]
                if nid in seen[up]:
                    continue
                seen[up].add(nid)
                if nid not in result.nodes and len(result.nodes) >= self.max_nodes:
                    result.truncated = True
                    return
                result.nodes.setdefault(nid, _summary(node))
                next_frontier.append({"id": nid, "up": up})
            frontier = next_frontier

    def check_limit(self, limit: int | None) -> int:
        """``limit`` if within bounds (400 otherwise); None means the maximum."""
        return check_limit(self.max_limit if limit is None else limit, self.max_limit)


def _summary(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeId": node["nodeId"],
        "kind": node["kind"],
        "namespace": node.get("namespace"),
        "name": node.get("name") or node.get("runId"),
    }


_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')


def _lucene_query(text: str) -> str:
    """Escape user text for the fulltext index, then match every term as a prefix."""
    terms = []
    for raw in text.split():
        escaped = "".join(f"\\{c}" if c in _LUCENE_SPECIAL else c for c in raw)
        terms.append(f"{escaped}*")
    return " AND ".join(terms)
