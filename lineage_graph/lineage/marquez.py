"""Shape a lineage walk as Marquez's ``GET /api/v1/lineage`` answers it, so tools built for
Marquez's lineage view (its web UI, scripts) work unchanged."""

from __future__ import annotations

from typing import Any

from lineage_graph.lineage.service import Direction, LineageService


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.iso_format() if hasattr(value, "iso_format")
                                           else value)


def marquez_lineage(service: LineageService, node_id: str, depth: int) -> dict[str, Any]:
    result = service.lineage(node_id, Direction.BOTH, depth)
    node_ids = list(result.nodes)
    jobs = service.job_io([n for n in node_ids if result.nodes[n]["kind"] == "JOB"])
    in_edges: dict[str, list[dict[str, str]]] = {n: [] for n in node_ids}
    out_edges: dict[str, list[dict[str, str]]] = {n: [] for n in node_ids}
    for source, target, _ in sorted(result.edges):
        if source in result.nodes and target in result.nodes:
            edge = {"origin": source, "destination": target}
            out_edges[source].append(edge)
            in_edges[target].append(edge)
    graph = []
    for nid in node_ids:
        summary = result.nodes[nid]
        kind = summary["kind"]
        graph.append({
            "id": nid,
            "type": kind,
            "data": _job_data(summary, jobs.get(nid)) if kind == "JOB" else _dataset_data(
                service, summary) if kind == "DATASET" else {"id": nid},
            "inEdges": in_edges[nid],
            "outEdges": out_edges[nid],
        })
    return {"graph": graph}


def _dataset_data(service: LineageService, summary: dict[str, Any]) -> dict[str, Any]:
    node = service.node(summary["nodeId"]) or {}
    return {
        "type": "DATASET",
        "id": {"namespace": summary["namespace"], "name": summary["name"]},
        "namespace": summary["namespace"],
        "name": summary["name"],
        "physicalName": summary["name"],
        "sourceName": node.get("sourceName"),
        "description": node.get("description"),
        "fields": [
            {"name": f["name"], "type": f["type"], "description": f["description"], "tags": []}
            for f in service.fields(summary["nodeId"])
        ],
        "tags": [],
        "facets": service.facets(summary["nodeId"]),
    }


def _job_data(summary: dict[str, Any], io: dict[str, Any] | None) -> dict[str, Any]:
    io = io or {"inputs": [], "outputs": [], "latestRun": None}
    latest = io.get("latestRun")
    return {
        "type": "BATCH",
        "id": {"namespace": summary["namespace"], "name": summary["name"]},
        "namespace": summary["namespace"],
        "name": summary["name"],
        "simpleName": summary["name"],
        "inputs": [i for i in io["inputs"] if i.get("name") is not None],
        "outputs": [o for o in io["outputs"] if o.get("name") is not None],
        "latestRun": None if not latest else {
            "id": latest["runId"], "state": latest.get("state"),
            "startedAt": _iso(latest.get("startedAt")), "endedAt": _iso(latest.get("endedAt")),
        },
    }
