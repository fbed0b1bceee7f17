"""Every route's dependencies run on the event loop: FastAPI runs a plain ``def`` dependency
on its thread pool, a thread hop on every request for what is an attribute read
(web/services.py)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

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
    # A function, or an object whose __call__ is (web/auth.Access).
    return (inspect.iscoroutinefunction(call)
            or inspect.iscoroutinefunction(type(call).__call__))


def test_no_route_dependency_takes_a_thread_hop() -> None:
    app = create_app(Settings(auth="on"), apply_schema=False)
    routes = [(c.path, c.route) for c in iter_route_contexts(app.routes)
              if isinstance(c.route, APIRoute)]
    assert {"/api/v1/lineage", "/graphql"} <= {path for path, _ in routes}
    hops = sorted({f"{path}: {getattr(call, '__qualname__', call)!r}"
                   for path, route in routes for call in _calls(route.dependant)
                   if not _runs_on_the_loop(call)})
    assert hops == []
