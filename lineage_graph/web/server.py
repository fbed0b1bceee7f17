"""How the API is served: uvicorn with its compiled HTTP parser and event loop.

httptools (llhttp, Node.js's parser) and uvloop in place of the pure-Python h11 and asyncio's
own loop: less CPU per request on a machine the API shares with Neo4j, and a stricter parser
(a request declaring both ``Content-Length`` and ``Transfer-Encoding``, a request-smuggling
shape, is refused with 400 before the application sees it). Every way of serving the API
(``serve``, ``demo``, the tests' servers) takes its configuration from here.

One thing h11 did that llhttp does not: bound a request's head. llhttp takes a request line
and headers of any size, and httptools and uvicorn join their pieces by repeated
concatenation (one 32 MB header cost 19 s of the event loop's CPU, every request waiting):
:class:`BoundedHeadProtocol` refuses a head over ``MAX_REQUEST_HEAD_BYTES`` (h11's 16 KiB)
with 431 and closes the connection, before the parser sees more of it.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

EVENT_LOOP = "uvloop"
MAX_REQUEST_HEAD_BYTES = 16 * 1024
_HEAD_END = b"\r\n\r\n"


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on each request's head (request line and
    headers). Bytes are counted as they arrive, up to the blank line that ends the head; a
    body arriving in the same read is not counted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""  # the last bytes read, for a head end split between two reads

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            seen = self._tail + data
            end = seen.find(_HEAD_END)
            self._head_bytes += len(data) if end < 0 else max(0, end + len(_HEAD_END)
                                                                - len(self._tail))
            self._tail = seen[-(len(_HEAD_END) - 1):]
            if self._head_bytes > MAX_REQUEST_HEAD_BYTES:
                self._refuse_head()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head, self._head_bytes, self._tail = True, 0, b""

    def _refuse_head(self) -> None:
        message = (f"request line and headers exceed {MAX_REQUEST_HEAD_BYTES} bytes"
                   ).encode("ascii")
        self.logger.warning("request head over %d bytes refused", MAX_REQUEST_HEAD_BYTES)
        content = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: text/plain; charset=utf-8\r\n",
                        b"content-length: " + str(len(message)).encode("ascii") + b"\r\n",
                        b"connection: close\r\n", b"\r\n", message])
        self.transport.write(b"".join(content))
        self.transport.close()


def server_config(app: ASGIApp, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          http=BoundedHeadProtocol, loop=EVENT_LOOP)


def serve_forever(app: ASGIApp, host: str, port: int) -> None:
    """Serve until interrupted (``lineage-graph serve``); exits non-zero if start-up fails."""
    uvicorn.run(app, host=host, port=port, log_level="info", http=BoundedHeadProtocol,
                loop=EVENT_LOOP)
