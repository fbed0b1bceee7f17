"""The dashboard: a static single-page app at ``/`` (lineage_graph/web/static) that reads only
the public GraphQL API. The page and its scripts hold no data, so they are served without a key
(the page asks for one when the API needs it); a content security policy keeps the page to its
own scripts."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from lineage_graph.web.auth import OPEN

STATIC = Path(__file__).resolve().parent / "static"
# Cytoscape positions its canvas with style attributes: styles may be inline, scripts may not.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install_dashboard(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False, dependencies=[OPEN])
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)
