"""Marquez's read API (/api/v1/namespaces/..., /api/v1/jobs/runs/{id}, /api/v1/events/lineage,
/api/v1/column-lineage) for the marquez-python client and other Marquez tools. Its write
methods answer 405 pointing to OpenLineage: the graph is written by events only.

Marquez clients percent-encode every path segment, ``/`` included (a namespace such as
``s3://bucket`` arrives as ``s3%3A%2F%2Fbucket``): resource paths are split from the raw,
still-encoded path, then each segment is decoded."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from lineage_graph.errors import InvalidRequestError, NotFoundError
from lineage_graph.web.auth import READ, needs
from lineage_graph.web.services import Marquez

# Every route reads (its write methods too: they answer 405 to a reader).
router = APIRouter(tags=["Marquez-compatible read API"], dependencies=[needs(READ)])

_PREFIX = "/api/v1/namespaces"
_READ_ONLY = ("lineage-graph serves Marquez's read API only: send OpenLineage events to "
              "POST /api/v1/lineage")
_BAD: dict[int | str, dict[str, Any]] = {
    400: {"description": "A parameter out of range (limit from 1 to LINEAGE_GRAPH_MAX_LIMIT, "
                         "offset from 0, depth from 0 to LINEAGE_GRAPH_MAX_DEPTH)"}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **_BAD, 404: {"description": "No such namespace, dataset, job, version or run"}}


def _segments(request: Request, prefix: str = _PREFIX) -> list[str]:
    """The decoded segments after ``prefix``, split on the raw path's ``/`` (so ``%2F`` stays
    inside its segment); a root path the app is mounted under is skipped."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = [unquote(p) for p in raw.decode("latin-1").split("?", 1)[0].split("/") if p]
    root = [p for p in str(request.scope.get("root_path", "")).split("/") if p]
    if parts[:len(root)] == root:
        parts = parts[len(root):]
    head = [p for p in prefix.split("/") if p]
    return parts[len(head):] if parts[:len(head)] == head else []


@router.get(
    "/api/v1/lineage", summary="Lineage around a dataset or job, with Marquez's semantics and "
    "response shape", responses={404: {"description": "No such node"},
                                 400: {"description": "Depth below 0 or over "
                                                      "LINEAGE_GRAPH_MAX_DEPTH"}},
)
async def get_lineage(
    marquez: Marquez,
    node_id: str = Query(alias="nodeId", description="dataset:NS:NAME or job:NS:NAME"),
    depth: int = Query(default=20, description="job-to-job steps to walk"),
) -> dict[str, Any]:
    # Over LINEAGE_GRAPH_MAX_DEPTH is a 400 naming the limit, never a silently shorter answer.
    return await asyncio.to_thread(marquez.lineage, node_id, depth)


@router.get("/api/v1/namespaces", responses=_BAD, summary="Namespaces (Marquez)")
async def list_namespaces(marquez: Marquez, limit: int = 100, offset: int = 0
                          ) -> dict[str, Any]:
    return await asyncio.to_thread(marquez.namespaces, limit, offset)


@router.get("/api/v1/namespaces/{resource:path}", responses=_NOT_FOUND,
            summary="A namespace, its datasets (and their versions) or its jobs (and their "
                    "runs), in Marquez's shapes")
async def namespace_resource(request: Request, marquez: Marquez, resource: str,
                             limit: int = 100, offset: int = 0) -> dict[str, Any]:
    match _segments(request):
        case [ns]:
            return await asyncio.to_thread(marquez.namespace, ns)
        case [ns, "datasets"]:
            return await asyncio.to_thread(marquez.datasets, ns, limit, offset)
        case [ns, "datasets", name]:
            return await asyncio.to_thread(marquez.dataset, ns, name)
        case [ns, "datasets", name, "versions"]:
            return await asyncio.to_thread(marquez.dataset_versions, ns, name, limit, offset)
        case [ns, "datasets", name, "versions", version]:
            return await asyncio.to_thread(marquez.dataset_version, ns, name, version)
        case [ns, "jobs"]:
            return await asyncio.to_thread(marquez.jobs, ns, limit, offset)
        case [ns, "jobs", name]:
            return await asyncio.to_thread(marquez.job, ns, name)
        case [ns, "jobs", name, "runs"]:
            return await asyncio.to_thread(marquez.job_runs, ns, name, limit, offset)
    raise NotFoundError(f"no Marquez resource at {request.url.path}")


@router.get("/api/v1/jobs/runs/{run_id:path}", responses=_NOT_FOUND,
            summary="A run (Marquez)")
async def get_run(request: Request, marquez: Marquez, run_id: str) -> dict[str, Any]:
    match _segments(request, "/api/v1/jobs/runs"):
        case [one]:  # a runId that is not a UUID may hold "/" (sent as %2F)
            return await asyncio.to_thread(marquez.run, one)
    raise NotFoundError(f"no Marquez resource at {request.url.path}")


@router.get("/api/v1/events/lineage", responses=_BAD,
            summary="OpenLineage events as received (Marquez)")
async def lineage_events(
    marquez: Marquez, before: datetime | None = None, after: datetime | None = None,
    sort_direction: str = Query(default="desc", alias="sortDirection"), limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    return await asyncio.to_thread(marquez.events, before, after, sort_direction,
                                   limit, offset)


@router.get("/api/v1/events", responses=_BAD,
            summary="Same as /api/v1/events/lineage (marquez-python's list_events)")
async def events(marquez: Marquez, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    return await asyncio.to_thread(marquez.events, None, None, "desc", limit, offset)


@router.get("/api/v1/column-lineage", responses=_NOT_FOUND,
            summary="Column lineage of a dataset, field or job's outputs (Marquez)")
async def column_lineage(
    marquez: Marquez, node_id: str = Query(alias="nodeId"), depth: int = 20,
    with_downstream: str = Query(default="false", alias="withDownstream"),
) -> dict[str, Any]:
    downstream = with_downstream.strip().lower()
    if downstream not in ("true", "false"):
        raise InvalidRequestError("withDownstream must be true or false",
                                  field="withDownstream")
    return await asyncio.to_thread(marquez.column_lineage, node_id, depth,
                                   downstream == "true")


@router.api_route("/api/v1/namespaces/{resource:path}", methods=["PUT", "POST"],
                  include_in_schema=False)
@router.api_route("/api/v1/sources/{resource:path}", methods=["PUT"], include_in_schema=False)
@router.api_route("/api/v1/tags/{resource:path}", methods=["PUT"], include_in_schema=False)
@router.api_route("/api/v1/jobs/runs/{resource:path}", methods=["POST"],
                  include_in_schema=False)
async def marquez_write(resource: str) -> JSONResponse:
    return JSONResponse({"error": "method_not_allowed", "message": _READ_ONLY}, status_code=405,
                        headers={"Allow": "GET"})
