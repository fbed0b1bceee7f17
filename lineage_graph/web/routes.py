"""REST routes: OpenLineage ingestion (Marquez's paths), Marquez-compatible lineage, health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from neo4j.exceptions import Neo4jError

from lineage_graph.app_state import AppState
from lineage_graph.auth.requests import request_receipt
from lineage_graph.errors import (
    InvalidDocumentError,
    InvalidRequestError,
    LineageGraphError,
    PayloadTooLargeError,
)
from lineage_graph.ingest.service import BatchResult, EventOutcome
from lineage_graph.ingest.sources import events_from_text
from lineage_graph.json_limits import JsonValueError, json_problem, loads
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.metrics import METRICS
from lineage_graph.openlineage.parse import parse_event_text
from lineage_graph.usage.service import Gauges
from lineage_graph.usd.store import StoredScene, store_scene
from lineage_graph.web.auth import INGEST, OPEN, READ, needs
from lineage_graph.web.body import read_text
from lineage_graph.web.services import State

router = APIRouter()
log = logging.getLogger(__name__)
T = TypeVar("T")

EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "description": "One OpenLineage RunEvent, DatasetEvent or JobEvent (spec 2-0-x).",
        }}},
    }
}
BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


async def _ingest_body(request: Request, state: AppState,
                       work: Callable[[AppState, str, Receipt], T]) -> T:
    """Take the request's receipt, read its body within the limit and run ``work`` on it on
    ingestion's own threads (parsing included: a large body must not hold the event loop)."""
    receipt = request_receipt(request)
    text = await read_text(request, state.settings.max_body_bytes)
    return await asyncio.get_running_loop().run_in_executor(state.ingest_pool, work, state,
                                                            text, receipt)


def _parse_and_ingest_one(state: AppState, text: str, receipt: Receipt) -> EventOutcome:
    try:
        parsed = parse_event_text(text)
    except InvalidDocumentError:
        METRICS.events.labels(status="rejected").inc()
        raise
    return state.durable.ingest_one(parsed, receipt)


def _parse_and_store_scene(state: AppState, text: str, receipt: Receipt) -> StoredScene:
    try:
        raw = loads(text, check=False)
    except JsonValueError as exc:
        raise InvalidRequestError(f"body is {exc.problem}") from exc
    problem = json_problem(raw)
    if problem is not None:
        raise InvalidDocumentError(problem.path, problem.problem)
    return store_scene(state.db, raw, receipt)  # validates, records and projects


def _split_and_ingest_batch(state: AppState, text: str, receipt: Receipt) -> BatchResult:
    raws = events_from_text(text)
    if len(raws) > state.settings.max_batch_events:
        raise PayloadTooLargeError(
            f"batch of {len(raws)} events exceeds the limit of {state.settings.max_batch_events} "
            "(setting LINEAGE_GRAPH_MAX_BATCH_EVENTS)"
        )
    return state.durable.ingest_raw(raws, receipt)


@router.post(
    "/api/v1/lineage", status_code=201, openapi_extra=EVENT_BODY, dependencies=[needs(INGEST)],
    summary="Ingest one OpenLineage event",
    responses={400: {"description": "Body is not JSON"},
               413: {"description": "Body too large"},
               415: {"description": "Content-Type is not application/json"},
               202: {"description": "Neo4j unreachable: the event is in the durable spool "
                                    "and will be applied when Neo4j answers"},
               422: {"description": "Event violates the OpenLineage core schema"}},
)
async def post_lineage(request: Request, state: State) -> JSONResponse:
    outcome = await _ingest_body(request, state, _parse_and_ingest_one)
    # "rejected" here means the database refused an event that passed validation.
    status = {"accepted": 201, "duplicate": 201, "spooled": 202, "rejected": 422}[outcome.status]
    return JSONResponse(outcome.as_dict(), status_code=status)


@router.post(
    "/api/v1/lineage/batch", openapi_extra=BATCH_BODY, dependencies=[needs(INGEST)],
    summary="Ingest a JSON array or NDJSON of events; answers per event",
    responses={400: {"description": "Body is neither a JSON array nor NDJSON"},
               202: {"description": "Some events are in the durable spool (Neo4j unreachable)"},
               413: {"description": "Body or batch too large"},
               415: {"description": "Content-Type is neither application/json nor "
                                    "application/x-ndjson"}},
)
async def post_lineage_batch(request: Request, state: State) -> JSONResponse:
    result = await _ingest_body(request, state, _split_and_ingest_batch)
    return JSONResponse({"summary": result.summary(),
                         "results": [o.as_dict() for o in result.outcomes]},
                        status_code=202 if result.count("spooled") else 200)


SCENE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "description": "A scene document (schema/scene-document.schema.json), as "
                           "`lineage_graph.usd.extract.read_scene(...).as_dict()` makes it.",
        }}},
    }
}


@router.post(
    "/api/v1/scenes", status_code=201, openapi_extra=SCENE_BODY, dependencies=[needs(INGEST)],
    summary="Store a USD scene document",
    responses={400: {"description": "Body is not JSON"},
               413: {"description": "Body too large"},
               415: {"description": "Content-Type is not application/json"},
               409: {"description": "A different document is stored under this scene "
                                    "version's contentHash, or (rarely) another request "
                                    "took over storing this one, presumed dead: retry; "
                                    "nothing written"},
               422: {"description": "The document breaks its schema, or its contentHash is "
                                    "not its layers' hash; nothing written"},
               503: {"description": "Neo4j unreachable; nothing written"}},
)
async def post_scene(request: Request, state: State) -> JSONResponse:
    stored = await _ingest_body(request, state, _parse_and_store_scene)
    return JSONResponse({
        "id": stored.node_id, "sceneId": stored.scene_id, "version": stored.version,
        "contentHash": stored.content_hash, "layers": stored.layers, "prims": stored.prims,
        "primDetail": stored.prim_detail, "variants": stored.variants,
        "missingAssets": stored.missing_assets,
        "seq": stored.seq, "duplicate": stored.duplicate,
        **({"warnings": stored.warnings()} if stored.version_reused_by else {}),
    }, status_code=201)


@router.get("/healthz", dependencies=[OPEN],
            summary="200 when Neo4j answers, 503 otherwise; with the spool depth",
            responses={503: {"description": "Neo4j does not answer (same body, "
                                            "`neo4j: down`)"}})
async def healthz(request: Request, state: State) -> JSONResponse:
    ok = await asyncio.to_thread(state.db.ping)
    depth = await asyncio.to_thread(state.durable.spool.depth)
    dead = await asyncio.to_thread(state.durable.dead_letters.count)
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable",
                            "neo4j": "up" if ok else "down",
                            "spool": {"depth": depth, "deadLetters": dead}}
    gauges = await asyncio.to_thread(_usage_gauges, state) if ok else None
    if gauges is not None and gauges.exceeded:
        # Still 200: an exceeded budget is a warning to act on, not an outage.
        body["warnings"] = list(gauges.exceeded.values())
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            dependencies=[needs(READ)])
async def metrics(request: Request, state: State) -> Response:
    METRICS.spool_depth.set(await asyncio.to_thread(state.durable.spool.depth))
    METRICS.dead_letters.set(await asyncio.to_thread(state.durable.dead_letters.count))
    gauges = await asyncio.to_thread(_usage_gauges, state)
    if gauges is not None:
        _set_usage_metrics(gauges)
    body, content_type = METRICS.exposition()
    return Response(body, media_type=content_type)


def _usage_gauges(state: AppState) -> Gauges | None:
    """The usage readings, or None while Neo4j does not answer them (down, a query past its
    timeout, a user not allowed to read the count store): health and metrics still answer
    then, with the spool figures, which are what matters in an outage."""
    try:
        return state.usage.gauges()
    except (LineageGraphError, Neo4jError) as exc:
        log.warning("usage gauges unavailable: %s", exc)
        return None


def _set_usage_metrics(gauges: Gauges) -> None:
    for label, count in gauges.counts.by_label.items():
        METRICS.nodes.labels(label=label).set(count)
    for kind, count in gauges.counts.by_type.items():
        METRICS.relationships.labels(type=kind).set(count)
    METRICS.records_last_day.set(gauges.records_last_day)
    if gauges.store_bytes is not None:
        METRICS.store_bytes.set(gauges.store_bytes)
    if gauges.transaction_log_bytes is not None:
        METRICS.transaction_log_bytes.set(gauges.transaction_log_bytes)
    for name, limit in gauges.budgets.items():
        if limit is not None:
            METRICS.budget.labels(budget=name).set(limit)
            METRICS.budget_exceeded.labels(budget=name).set(int(name in gauges.exceeded))
