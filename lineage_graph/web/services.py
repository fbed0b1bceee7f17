"""The services a route uses, as FastAPI dependencies: routes name what they need in their
signature (``state: State``, ``marquez: Marquez``) and never reach into ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lineage_graph.app_state import AppState
from lineage_graph.marquez.service import MarquezService


def app_state(request: Request) -> AppState:
    """The services this process built at start-up (lineage_graph.app_state)."""
    state: AppState = request.app.state.lineage
    return state


def marquez_service(state: Annotated[AppState, Depends(app_state)]) -> MarquezService:
    return state.marquez


State = Annotated[AppState, Depends(app_state)]
Marquez = Annotated[MarquezService, Depends(marquez_service)]
