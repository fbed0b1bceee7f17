"""Marquez's read API answered from the lineage graph, for tools built on Marquez (the
marquez-python client, Marquez's web UI's lineage endpoint).

Lineage follows Marquez's semantics, not the directed walk of GraphQL: from a dataset it starts
at the job that last produced it (else last consumed it), walks job to job through any dataset
two jobs share (read or written, either direction; ``depth`` counts job steps) and returns
every dataset of every job reached."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

import neo4j

from lineage_graph.db import lineage_reads
from lineage_graph.db import marquez_reads as q
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError, NotFoundError
from lineage_graph.ids import (
    bounded,
    canonical_run_id,
    dataset_id,
    dataset_version_id,
    job_id,
    namespace_key,
)
from lineage_graph.limits import check_depth, check_limit
from lineage_graph.lineage.service import LineageService
from lineage_graph.marquez import shapes

MAX_OFFSET = 1_000_000_000  # far past any real page; Neo4j's SKIP takes a 64-bit integer
_EPOCH = "1970-01-01T00:00:00+00:00"
_FAR = "2030-01-01T00:00:00+00:00"  # Marquez's default `before`


LATEST_RUNS = 10  # runs shown with a job (Marquez's latestRuns)


class MarquezService:
    def __init__(self, db: Database, lineage: LineageService, max_depth: int, max_limit: int,
                 max_nodes: int = 10_000) -> None:
        self.db = db
        self.lineage_service = lineage
        self.max_depth = max_depth
        self.max_limit = max_limit
        self.max_nodes = max_nodes

    # -- namespaces -------------------------------------------------------------------------

    def namespaces(self, limit: int, offset: int) -> dict[str, Any]:
        limit, offset = self._page(limit, offset)
        names = self.db.read(lambda tx: q.namespace_names(tx, limit, offset))
        return {"namespaces": [shapes.namespace(n) for n in names]}

    def namespace(self, name: str) -> dict[str, Any]:
        found = self.db.read(lambda tx: q.namespace_name(tx, namespace_key(name)))
        if found is None:
            raise NotFoundError(f"Namespace '{name}' not found.")
        return shapes.namespace(found)

    # -- datasets ---------------------------------------------------------------------------

    def datasets(self, namespace: str, limit: int, offset: int) -> dict[str, Any]:
        self.namespace(namespace)
        limit, offset = self._page(limit, offset)
        found, total = self.db.read(
            lambda tx: q.datasets_page(tx, namespace_key(namespace), limit, offset))
        return {"datasets": [shapes.dataset(r) for r in found], "totalCount": total}

    def dataset(self, namespace: str, name: str) -> dict[str, Any]:
        return shapes.dataset(self._dataset_row(namespace, name))

    def dataset_versions(self, namespace: str, name: str, limit: int, offset: int
                         ) -> dict[str, Any]:
        ds = self._dataset_row(namespace, name)
        limit, offset = self._page(limit, offset)
        found, total = self.db.read(
            lambda tx: q.dataset_versions_page(tx, ds["nodeId"], limit, offset))
        return {"versions": [shapes.dataset_version(v, ds) for v in found], "totalCount": total}

    def dataset_version(self, namespace: str, name: str, version: str) -> dict[str, Any]:
        ds = self._dataset_row(namespace, name)
        version_id = dataset_version_id(ds["namespace"], ds["name"], version)
        found = self.db.read(lambda tx: q.dataset_version(tx, ds["nodeId"], version_id))
        if found is None:
            raise NotFoundError(f"Dataset version '{version}' not found.")
        return shapes.dataset_version(found, ds)

    def _dataset_row(self, namespace: str, name: str) -> dict[str, Any]:
        node = self.lineage_service.dataset(namespace, name)  # an alias finds its dataset
        found = [] if node is None else self.db.read(
            lambda tx: q.datasets_by_id(tx, [node["nodeId"]]))
        if not found:
            raise NotFoundError(f"Dataset '{name}' not found.")
        return found[0]

    # -- jobs and runs ------------------------------------------------------------------------

    def jobs(self, namespace: str, limit: int, offset: int) -> dict[str, Any]:
        limit, offset = self._page(limit, offset)
        found, total = self.db.read(
            lambda tx: q.jobs_page(tx, namespace_key(namespace), LATEST_RUNS, limit, offset))
        return {"jobs": [shapes.job(r) for r in found], "totalCount": total}

    def job(self, namespace: str, name: str) -> dict[str, Any]:
        return shapes.job(self._job_row(namespace, name))

    def job_runs(self, namespace: str, name: str, limit: int, offset: int) -> dict[str, Any]:
        node_id = self._job_row(namespace, name)["nodeId"]
        limit, offset = self._page(limit, offset)
        found, total = self.db.read(lambda tx: q.runs_of_job_page(tx, node_id, limit, offset))
        return {"runs": [shapes.run(r) for r in found], "totalCount": total}

    def run(self, run_id: str) -> dict[str, Any]:
        key = canonical_run_id(run_id)
        found = self.db.read(lambda tx: q.run(tx, key))
        if found is None:
            raise NotFoundError(f"Run '{run_id}' not found.")
        return shapes.run(found)

    def _job_row(self, namespace: str, name: str) -> dict[str, Any]:
        found = self.db.read(
            lambda tx: q.jobs_by_id(tx, [job_id(namespace, name)], LATEST_RUNS))
        if not found:
            raise NotFoundError(f"Job '{name}' not found.")
        return found[0]

    # -- events -------------------------------------------------------------------------------

    def events(self, before: datetime | None, after: datetime | None, sort_direction: str,
               limit: int, offset: int) -> dict[str, Any]:
        if sort_direction not in ("asc", "desc"):
            raise InvalidRequestError("sortDirection must be asc or desc",
                                      field="sortDirection")
        until, since = _instant(before, _FAR, "before"), _instant(after, _EPOCH, "after")
        limit, offset = self._page(limit, offset)
        found, total = self.db.read(lambda tx: q.events_page(
            tx, after=since, before=until, newest_first=sort_direction == "desc", limit=limit,
            offset=offset))
        return {"events": [json.loads(raw) for raw in found], "totalCount": total}

    # -- lineage ------------------------------------------------------------------------------

    def lineage(self, node_id: str, depth: int) -> dict[str, Any]:
        check_depth(depth, self.max_depth)
        start = self.lineage_service.require_node(node_id)  # 404; an alias finds its dataset
        if start["kind"] not in ("DATASET", "JOB"):
            raise InvalidRequestError("nodeId must be dataset:NAMESPACE:NAME or "
                                      "job:NAMESPACE:NAME", field="nodeId")
        return self.db.read(partial(self._lineage, start, depth))

    def _lineage(self, start: dict[str, Any], depth: int,
                 tx: neo4j.ManagedTransaction) -> dict[str, Any]:
        first = start["nodeId"] if start["kind"] == "JOB" else q.start_job_of_dataset(
            tx, start["nodeId"])
        if first is None:  # a dataset no job touches: itself, alone
            [alone] = q.datasets_by_id(tx, [start["nodeId"]])
            return {"graph": [_graph_node(start["nodeId"], "DATASET",
                                          shapes.lineage_dataset_data(alone), [], [])]}
        reached, frontier = {first}, [first]
        for hop in range(1, depth + 1):
            if not frontier:
                break
            found = q.neighbour_jobs(tx, frontier, cap=self.max_nodes + len(reached) + 1)
            frontier = [j for j in found if j not in reached]
            reached.update(frontier)
            if len(reached) > self.max_nodes:
                # Marquez's answer has no "truncated" flag: refuse rather than cut it short.
                raise InvalidRequestError(
                    f"the lineage reaches more than {self.max_nodes} jobs within depth {hop}: "
                    "ask for a smaller depth", field="depth")
        # A lineage node shows its job's latest run only.
        jobs = q.jobs_by_id(tx, sorted(reached), latest_runs=1)
        ids = {job["nodeId"]: job for job in jobs}
        reads = {jid: [dataset_id(d["namespace"], d["name"]) for d in job["inputs"]]
                 for jid, job in ids.items()}
        writes = {jid: [dataset_id(d["namespace"], d["name"]) for d in job["outputs"]]
                  for jid, job in ids.items()}
        dataset_ids = sorted({d for ds in (*reads.values(), *writes.values()) for d in ds})
        datasets = {row["nodeId"]: row for row in
                    q.datasets_by_id(tx, dataset_ids)}
        graph = [_graph_node(jid, "JOB", shapes.lineage_job_data(job),
                             [_edge(d, jid) for d in reads[jid]],
                             [_edge(jid, d) for d in writes[jid]])
                 for jid, job in ids.items()]
        # Each dataset's writers and readers, in job id order (one pass over the jobs, not one
        # per dataset: a 151-node answer spent 1 ms scanning every job for each dataset).
        writers: dict[str, list[str]] = {}
        readers: dict[str, list[str]] = {}
        for jid in sorted(ids):
            for did in dict.fromkeys(writes[jid]):
                writers.setdefault(did, []).append(jid)
            for did in dict.fromkeys(reads[jid]):
                readers.setdefault(did, []).append(jid)
        for did, row in datasets.items():
            graph.append(_graph_node(
                did, "DATASET", shapes.lineage_dataset_data(row),
                [_edge(jid, did) for jid in writers.get(did, [])],
                [_edge(did, jid) for jid in readers.get(did, [])]))
        return {"graph": sorted(graph, key=lambda n: n["id"])}

    # -- column lineage -------------------------------------------------------------------------

    def column_lineage(self, node_id: str, depth: int, with_downstream: bool) -> dict[str, Any]:
        check_depth(depth, self.max_depth)
        return self.db.read(partial(self._column_lineage, node_id, depth, with_downstream))

    def _column_lineage(self, node_id: str, depth: int, downstream: bool,
                        tx: neo4j.ManagedTransaction) -> dict[str, Any]:
        start = self._start_fields(tx, node_id)
        if not start:
            raise NotFoundError("Could not find node")
        edges: dict[tuple[str, str], str | None] = {}
        fields: dict[str, dict[str, Any]] = {}
        seen, frontier = set(start), list(start)
        for _ in range(depth):
            if not frontier:
                break
            hop = q.column_lineage_hop(tx, frontier, downstream)
            reached = []
            for row in hop:
                edges[(row["outId"], row["inId"])] = row["transformations"]
                fields[row["outId"]], fields[row["inId"]] = row["outField"], row["inField"]
                for fid in (row["outId"], row["inId"]):
                    if fid not in seen:
                        seen.add(fid)
                        reached.append(fid)
            frontier = reached
            if len(fields) > self.max_nodes:
                raise InvalidRequestError(
                    f"the column lineage reaches more than {self.max_nodes} fields: ask for a "
                    "smaller depth", field="depth")
        return {"graph": _column_graph(fields, edges)}

    def _start_fields(self, tx: neo4j.ManagedTransaction, node_id: str) -> list[str]:
        kind, _, rest = node_id.partition(":")
        if kind == "dataset":
            return q.field_ids_of_dataset(tx, _dataset_node_id(tx, node_id))
        if kind == "datasetField":
            namespace_and_dataset, _, field = rest.rpartition(":")
            return q.field_id_of_dataset(
                tx, _dataset_node_id(tx, f"dataset:{namespace_and_dataset}"), field)
        if kind == "job":
            return q.field_ids_of_job_outputs(tx, node_id)
        raise InvalidRequestError("nodeId must be dataset:NS:NAME, datasetField:NS:NAME:FIELD "
                                  "or job:NS:NAME", field="nodeId")

    def _page(self, limit: int, offset: int) -> tuple[int, int]:
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidRequestError(f"offset must be between 0 and {MAX_OFFSET}",
                                      field="offset")
        return check_limit(limit, self.max_limit), offset


def _dataset_node_id(tx: neo4j.ManagedTransaction, node_id: str) -> str:
    """The dataset an id names, through an alias (symlinks facet) when no dataset has it."""
    found = lineage_reads.node_by_id(tx, bounded(node_id))
    return str(found["nodeId"]) if found is not None else node_id


def _instant(value: datetime | None, default: str, name: str) -> str:
    """An instant in UTC (Neo4j refuses offsets past +-18:00); naive times are UTC."""
    if value is None:
        return default
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    except (OverflowError, ValueError) as exc:
        raise InvalidRequestError(f"{name}: out of range once in UTC", field=name) from exc


def _edge(origin: str, destination: str) -> dict[str, str]:
    return {"origin": origin, "destination": destination}


def _graph_node(node_id: str, kind: str, data: dict[str, Any], in_edges: list[dict[str, str]],
                out_edges: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "data": data, "inEdges": in_edges,
            "outEdges": out_edges}


def _field_id(field: dict[str, Any]) -> str:
    return f"datasetField:{field['namespace']}:{field['dataset']}:{field['name']}"


def _column_graph(fields: dict[str, dict[str, Any]],
                  edges: dict[tuple[str, str], str | None]) -> list[dict[str, Any]]:
    """Marquez's column-lineage nodes: every output field with its input fields, and input-only
    fields with none. As in Marquez, ``inEdges`` point from a field to its inputs and
    ``outEdges`` from a field to the fields derived from it."""
    inputs: dict[str, list[str]] = {fid: [] for fid in fields}
    outputs: dict[str, list[str]] = {fid: [] for fid in fields}
    for out_id, in_id in sorted(edges):
        inputs[out_id].append(in_id)
        outputs[in_id].append(out_id)
    graph = []
    for fid, field in fields.items():
        me = _field_id(field)
        input_fields = []
        for in_id in inputs[fid]:
            source = fields[in_id]
            description, kind = shapes.transformation(edges[(fid, in_id)])
            input_fields.append({"namespace": source["namespace"], "dataset": source["dataset"],
                                 "datasetVersion": None, "field": source["name"],
                                 "transformationDescription": description,
                                 "transformationType": kind})
        graph.append({
            "id": me, "type": "DATASET_FIELD",
            "data": {"namespace": field["namespace"], "dataset": field["dataset"],
                     "datasetVersion": None, "field": field["name"],
                     "fieldType": (field.get("type") or "") if inputs[fid] else "",
                     "transformationDescription": None, "transformationType": None,
                     "inputFields": input_fields},
            "inEdges": [_edge(me, _field_id(fields[i])) for i in inputs[fid]],
            "outEdges": [_edge(me, _field_id(fields[o])) for o in outputs[fid]],
        })
    return sorted(graph, key=lambda n: n["id"])
