"""Build the FastAPI application: REST routes, GraphQL at /graphql (GraphiQL on GET)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from strawberry.fastapi import GraphQLRouter

from lineage_graph import __version__
from lineage_graph.db.migrations import migrate
from lineage_graph.graphql.context import Services
from lineage_graph.graphql.schema import schema
from lineage_graph.settings import Settings
from lineage_graph.web.errors import install_error_handlers
from lineage_graph.web.routes import router
from lineage_graph.web.state import AppState

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, apply_schema: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState.build(settings)
        if apply_schema:
            count = migrate(state.db)
            log.info("schema applied (%d constraints and indexes)", count)
        app.state.lineage = state
        try:
            yield
        finally:
            state.db.close()

    app = FastAPI(
        title="lineage-graph",
        version=__version__,
        description="Lineage for ML and physical-AI teams: OpenLineage ingestion (Marquez's "
        "paths), Marquez-compatible lineage, and GraphQL at /graphql.",
        lifespan=lifespan,
    )

    async def graphql_context(request: Request) -> dict[str, Any]:
        state: AppState = request.app.state.lineage
        return {"services": Services(lineage=state.lineage, scenes=state.scenes,
                                     labeling=state.labeling, sessions=state.sessions,
                                     models=state.models, regression=state.regression,
                                     diffs=state.diffs)}

    app.include_router(router)
    app.include_router(GraphQLRouter(schema, context_getter=graphql_context), prefix="/graphql")
    install_error_handlers(app)
    return app
