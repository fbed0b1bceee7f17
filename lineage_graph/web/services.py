"""The services a route uses, as FastAPI dependencies: routes name what they need in their
signature (``state: State``, ``marquez: Marquez``) and never reach into ``app.state``.

Every dependency here is ``async def``: FastAPI runs a plain ``def`` dependency on its thread
pool, a thread hop on every request (about 0.3 ms per POST here) to read one attribute.
``tests/test_web_dependencies.py`` fails on a route whose dependencies would take that hop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lineage_graph.app_state import AppState
from lineage_graph.marquez.service import MarquezService


def app_state_of(request: Request) -> AppState:
    """The services this process built at start-up (lineage_graph.app_state)."""
    state: AppState = request.app.state.lineage
    return state


async def app_state(request: Request) -> AppState:
    return app_state_of(request)


async def marquez_service(state: Annotated[AppState, Depends(app_state)]) -> MarquezService:
    return state.marquez


State = Annotated[AppState, Depends(app_state)]
Marquez = Annotated[MarquezService, Depends(marquez_service)]
