"""How the API is served: uvicorn with its compiled HTTP parser and event loop.

httptools (llhttp, Node.js's parser) and uvloop in place of the pure-Python h11 and asyncio's
own loop: less CPU per request on a machine the API shares with Neo4j, and a stricter parser
(a request declaring both ``Content-Length`` and ``Transfer-Encoding``, a request-smuggling
shape, is refused with 400 before the application sees it). Every way of serving the API
(``serve``, ``demo``, the tests' servers) takes its configuration from here.
"""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

HTTP_PARSER = "httptools"
EVENT_LOOP = "uvloop"


def server_config(app: ASGIApp, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, http=HTTP_PARSER,
                          loop=EVENT_LOOP)


def serve_forever(app: ASGIApp, host: str, port: int) -> None:
    """Serve until interrupted (``lineage-graph serve``); exits non-zero if start-up fails."""
    uvicorn.run(app, host=host, port=port, log_level="info", http=HTTP_PARSER, loop=EVENT_LOOP)
