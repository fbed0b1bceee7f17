"""Every route's dependencies run on the event loop: FastAPI runs a plain ``def`` dependency
(or a plain generator) on its thread pool, a thread hop on every request for what is an
attribute read (web/services.py)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from lineage_graph.settings import Settings
from lineage_graph.web.app import create_app


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _runs_on_the_loop(call: Any) -> bool:
    # A function, or an object whose __call__ is (web/auth.Access); async generators too.
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _thread_hops(app: FastAPI) -> list[str]:
    hops: set[str] = set()
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.route, APIRoute):
            continue
        # The route with what include_router() added around it (FastAPI 0.165 keeps those
        # dependencies only on this effective route, not on the route as declared).
        effective = getattr(context, "_effective_route", context.route)
        for call in _calls(effective.dependant):
            if not _runs_on_the_loop(call):
                hops.add(f"{context.path}: {getattr(call, '__qualname__', call)!r}")
    return sorted(hops)


def test_no_route_dependency_takes_a_thread_hop() -> None:
    app = create_app(Settings(auth="on"), apply_schema=False)
    paths = {c.path for c in iter_route_contexts(app.routes) if isinstance(c.route, APIRoute)}
    assert {"/api/v1/lineage", "/graphql"} <= paths
    assert _thread_hops(app) == []


def test_the_check_sees_dependencies_added_around_a_router() -> None:
    def plain() -> int:
        return 1

    async def awaited() -> int:
        return 1

    router = APIRouter()

    @router.get("/x", dependencies=[Depends(awaited)])
    async def endpoint() -> int:
        return 1

    app = FastAPI()
    app.include_router(router, dependencies=[Depends(plain)])
    assert [hop.split(": ")[0] for hop in _thread_hops(app)] == ["/x"]
