"""What every resolver receives: the process's services (web.state.AppState)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import strawberry

from lineage_graph.ingest.ledger import Receipt
from lineage_graph.web.state import AppState

T = TypeVar("T")

# The `limit` of a list that defaults to the largest allowed.
ListLimit = Annotated[int | None, strawberry.argument(
    description="At most this many (default and maximum: LINEAGE_GRAPH_MAX_LIMIT).")]


def receipt(info: strawberry.Info[Any, Any]) -> Receipt:
    """When this request arrived and which API key sent it: what the records of its writes
    carry (None for the key with auth off)."""
    key = getattr(getattr(info.context.get("request"), "state", None), "api_key", None)
    return Receipt.now(key.key_id if key is not None else None)


def services(info: strawberry.Info[Any, Any]) -> AppState:
    """The services the HTTP layer built once for the process (web.state.AppState)."""
    found: AppState = info.context["services"]
    return found


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking (Neo4j) call in a worker thread so the event loop keeps serving."""
    return await asyncio.to_thread(fn, *args, **kwargs)
