"""What every resolver receives: the process's services (lineage_graph.app_state.AppState)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import strawberry

from lineage_graph.app_state import AppState
from lineage_graph.auth.requests import request_receipt
from lineage_graph.ledger.receipt import Receipt

T = TypeVar("T")

# The `limit` of a list that defaults to the largest allowed.
ListLimit = Annotated[int | None, strawberry.argument(
    description="At most this many (default and maximum: LINEAGE_GRAPH_MAX_LIMIT).")]


def receipt(info: strawberry.Info[Any, Any]) -> Receipt:
    """The receipt of this request (web.auth.request_receipt): its writes' records carry it."""
    return request_receipt(info.context.get("request"))


def services(info: strawberry.Info[Any, Any]) -> AppState:
    """The services the HTTP layer built once for the process (lineage_graph.app_state.AppState)."""
    found: AppState = info.context["services"]
    return found


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking (Neo4j) call in a worker thread so the event loop keeps serving."""
    return await asyncio.to_thread(fn, *args, **kwargs)
