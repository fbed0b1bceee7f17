"""Answer lineage questions: look nodes up, walk lineage hop by hop, search.

Lineage is walked breadth-first with one parameterised query per hop over the whole frontier,
so a depth-d walk costs at most d round trips and its work grows with the answer, not with the
size of the graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
from lineage_graph.lineage import paging, versions


class Direction(StrEnum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


class Level(StrEnum):
    """What a lineage walk is made of (docs/forensics.md#levels)."""

    JOB = "JOB"  # jobs and datasets: every run of a job folded into the job
    RUN = "RUN"  # runs and datasets
    VERSION = "VERSION"  # runs, dataset versions, model versions: what each run actually read


@dataclass
class LineageResult:
    """A page of a lineage answer: nodes in walk order, the edges that touch them (the other
    end on this page or an earlier one), and whether more nodes follow (next_cursor)."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: set[tuple[str, str, str]] = field(default_factory=set)
    truncated: bool = False
    next_cursor: str | None = None

    def take(self, node_id: str, seen: set[str], cap: int, row: dict[str, Any],
             summarize: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
        """Whether a node a walk reached one way is new that way and fits: then it is in
        ``nodes`` (summarized from its row) and walks on. Past ``cap`` nodes a new node marks
        the answer truncated instead; the walk goes on with the nodes it has."""
        if node_id in seen:
            return False
        seen.add(node_id)
        if node_id not in self.nodes and len(self.nodes) >= cap:
            self.truncated = True
            return False
        self.nodes.setdefault(node_id, summarize(row))
        return True


class LineageService:
    def __init__(self, db: Database, max_depth: int, max_limit: int, max_nodes: int = 10_000):
        self.db = db
        self.max_depth = max_depth
        self.max_limit = max_limit
        self.max_nodes = max_nodes

    # -- lookups ------------------------------------------------------------------------------

    def node(self, node_id: str) -> dict[str, Any] | None:
        """A node by id (a run's UUID in any case; a dataset by one of its aliases)."""
        return self.db.read(lambda tx: _node_in(tx, node_id))

    def require_node(self, node_id: str) -> dict[str, Any]:
        return self.db.read(lambda tx: _require_node_in(tx, node_id))

    def dataset(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.node_by_id(tx, dataset_id(namespace, name)))

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.node_by_id(tx, job_id(namespace, name)))

    def run(self, run_id: str) -> dict[str, Any] | None:
        key = canonical_run_id(run_id)  # a UUID as the emitter wrote it, capitals included
        return self.db.read(lambda tx: q.run_by_run_id(tx, key))

    def facets(self, node_id: str, place: str = "") -> dict[str, Any]:
        found = self.db.read(lambda tx: q.facets_of_node(tx, node_id, place))
        return {row["name"]: json.loads(row["payload"]) for row in found}

    def versions(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        return self.db.read(lambda tx: q.versions_of_dataset(tx, node_id, limit))

    def aliases(self, node_id: str) -> list[dict[str, Any]]:
        return self.db.read(lambda tx: q.aliases_of_dataset(tx, node_id))

    def fields(self, node_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        return self.db.read(lambda tx: q.fields_of_dataset(tx, node_id, limit))

    def column_lineage(self, node_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Field-to-source-field pairs, at most ``limit`` of them."""
        limit = self.check_limit(limit)
        return self.db.read(lambda tx: q.column_lineage_of_dataset(tx, node_id, limit))

    def runs_of_job(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        return self.db.read(lambda tx: q.runs_of_job(tx, node_id, limit))

    def job_of_run(self, run_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.job_of_run(tx, run_id))

    def parent_of_run(self, run_id: str) -> dict[str, Any] | None:
        return self.db.read(lambda tx: q.parent_of_run(tx, run_id))

    def children_of_run(self, run_id: str, limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        return self.db.read(lambda tx: q.children_of_run(tx, run_id, limit))

    def run_io(self, run_id: str, outputs: bool, limit: int | None = None
               ) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        read = q.outputs_of_run if outputs else q.inputs_of_run
        return self.db.read(lambda tx: read(tx, run_id, limit))

    def search(self, text: str, kinds: list[str], limit: int) -> list[dict[str, Any]]:
        limit = self.check_limit(limit)
        if not text.strip():
            raise InvalidRequestError("search query must not be empty", field="query")
        found = self.db.read(lambda tx: q.search_nodes(tx, _lucene_query(text), kinds, limit))
        if not found:
            # Fulltext tokenises names; a plain substring still finds "orders_v2" in "s.orders_v2".
            found = self.db.read(
                lambda tx: q.search_nodes_by_substring(tx, text, kinds, limit))
        return found

    # -- lineage ------------------------------------------------------------------------------

    def lineage(self, node_id: str, direction: Direction, depth: int,
                as_of: datetime | None = None, level: Level | None = None,
                first: int | None = None, after: str | None = None) -> LineageResult:
        """A page of the lineage around a node; with ``as_of``, only what events up to that
        time showed. ``level`` None: JOB from a dataset or job, RUN from a run, as before levels
        existed. ``first`` nodes from the page ``after`` points at (paging.py)."""
        check_depth(depth, self.max_depth)
        page_size = paging.check_first(first, self.max_nodes)
        key = paging.question_key(node_id, direction, depth, as_of, level)
        offset = paging.cursor_offset(after, key)
        cap = paging.check_walk(offset, page_size, self.max_nodes)
        if as_of is not None and as_of.tzinfo is None:
            raise InvalidRequestError("asOf needs a time zone (e.g. 2026-03-01T08:00:00Z)",
                                      field="asOf")
        directions = [Direction.UPSTREAM, Direction.DOWNSTREAM] if direction is Direction.BOTH \
            else [direction]
        ways = [way is Direction.UPSTREAM for way in directions]
        at = None if as_of is None else as_of.isoformat()
        if level is Level.VERSION and as_of is not None:
            raise InvalidRequestError("asOf applies to the JOB and RUN levels", field="asOf")
        walk = self._walk_versions if level is Level.VERSION else self._walk_lineage
        found = self.db.read(partial(walk, node_id, level, ways, depth, at, cap))
        return _page(found, offset, page_size, key)

    def _walk_versions(self, node_id: str, level: Level | None, ways: list[bool], depth: int,
                       as_of: str | None, cap: int, tx: neo4j.ManagedTransaction
                       ) -> LineageResult:
        """Level VERSION: look the start up (a lineage node, alias resolved, or a dataset
        version) and walk, in one read transaction."""
        named = _node_in(tx, node_id)
        if named is not None and named["kind"] == "JOB":
            raise InvalidRequestError("level VERSION walks runs and dataset versions: start "
                                      "from one of the job's runs, or ask for level JOB",
                                      field="level")
        start_id = named["nodeId"] if named is not None else bounded(node_id)
        start = versions.version_node(tx, start_id)
        if start is None:
            raise NotFoundError(f"no node with id {node_id!r}")
        result = LineageResult(nodes={start_id: versions.summary(start)})
        versions.walk_versions(tx, start_id, ways, depth, cap, result)
        result.edges = versions.version_edges(tx, list(result.nodes))
        return result

    def _walk_lineage(self, node_id: str, level: Level | None, ways: list[bool], depth: int,
                      as_of: str | None, cap: int, tx: neo4j.ManagedTransaction
                      ) -> LineageResult:
        """Levels JOB and RUN: look the start up and walk, in one read transaction."""
        start = _require_node_in(tx, node_id)
        if level is None:
            level = Level.RUN if start["kind"] == "RUN" else Level.JOB
        if level is Level.JOB and start["kind"] == "RUN":
            raise InvalidRequestError("level JOB walks jobs and datasets: start from the run's "
                                      "job (job:NAMESPACE:NAME), or ask for level RUN",
                                      field="level")
        if level is Level.RUN and start["kind"] == "JOB":
            raise InvalidRequestError("level RUN walks runs and datasets: start from one of "
                                      "the job's runs, or ask for level JOB", field="level")
        run_level = level is Level.RUN
        result = LineageResult(nodes={start["nodeId"]: _summary(start)})
        self._walk(start["nodeId"], ways, depth, run_level, result, as_of, cap, tx)
        result.edges = q.lineage_edges(tx, run_level=run_level, ids=list(result.nodes),
                                       as_of=as_of)
        return result

    def _walk(self, start: str, ways: list[bool], depth: int, run_level: bool,
              result: LineageResult, as_of: str | None, cap: int,
              tx: neo4j.ManagedTransaction) -> None:
        """Breadth-first in one read transaction: one query per hop, carrying the frontier of
        every direction at once (``up``: upstream), each direction with its own seen set. Each
        hop's rows in a fixed order (elementId), so the walk order is the same every time
        (pages rely on it), and a hop hands back at most cap + 1 reached nodes (a hub read by
        100,000 runs sends what a page can hold). Past ``cap`` nodes no new node is taken.
        The caller reads the edges between the nodes taken afterwards."""
        seen = {up: {start} for up in ways}
        frontier: list[q.FrontierEntry] = [{"id": start, "up": up} for up in ways]
        for _ in range(depth):
            if not frontier:
                return
            hop = q.lineage_hop(tx, run_level=run_level, frontier=frontier, as_of=as_of,
                                per_hop=cap + 1)
            next_frontier: list[q.FrontierEntry] = []
            for row in sorted(hop, key=_hop_order):
                node, up = row["node"], row["up"]
                if result.take(node["nodeId"], seen[up], cap, node, _summary):
                    next_frontier.append({"id": node["nodeId"], "up": up})
            frontier = next_frontier

    def check_limit(self, limit: int | None) -> int:
        """``limit`` if within bounds (400 otherwise); None means the maximum."""
        return check_limit(self.max_limit if limit is None else limit, self.max_limit)


def _node_in(tx: neo4j.ManagedTransaction, node_id: str) -> dict[str, Any] | None:
    """A node by id (a run's UUID in any case; a dataset by one of its aliases)."""
    return q.node_by_id(tx, bounded(canonical_run_id(node_id)))


def _require_node_in(tx: neo4j.ManagedTransaction, node_id: str) -> dict[str, Any]:
    node = _node_in(tx, node_id)
    if node is None:
        raise NotFoundError(f"no node with id {node_id!r}")
    return node


def _hop_order(row: dict[str, Any]) -> tuple[str, bool]:
    # elementId: the order the hop query bounds its answer by, so the nodes a capped walk takes
    # are the first ones of the uncapped walk (pages line up).
    return row["eid"], row["up"]


def _page(result: LineageResult, offset: int, size: int, key: str) -> LineageResult:
    """Cut a walk that collected up to offset + size nodes to its last ``size``: the edges kept
    touch a node of this page and end on this page or an earlier one."""
    ordered = list(result.nodes)
    reached = set(ordered[:offset + size])
    page = ordered[offset:offset + size]
    here = set(page)
    return LineageResult(
        nodes={nid: result.nodes[nid] for nid in page},
        edges={e for e in result.edges if e[0] in reached and e[1] in reached
               and (e[0] in here or e[1] in here)},
        truncated=result.truncated,
        next_cursor=paging.next_cursor(offset + size, key) if result.truncated else None,
    )


def _summary(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeId": node["nodeId"],
        "kind": node["kind"],
        "namespace": node.get("namespace"),
        "name": node.get("name") or node.get("runId"),
        "runCount": node.get("runCount"),
    }


_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')


def _lucene_query(text: str) -> str:
    """Escape user text for the fulltext index, then match every term as a prefix."""
    terms = []
    for raw in text.split():
        escaped = "".join(f"\\{c}" if c in _LUCENE_SPECIAL else c for c in raw)
        terms.append(f"{escaped}*")
    return " AND ".join(terms)
