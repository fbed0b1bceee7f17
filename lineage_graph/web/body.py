"""Read a request body without ever holding more than the configured limit."""

from __future__ import annotations

from fastapi import Request

from lineage_graph.errors import InvalidRequestError
from lineage_graph.web.errors import PayloadTooLargeError


async def read_text(request: Request, max_bytes: int) -> str:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(
            f"body of {declared} bytes exceeds the limit of {max_bytes} "
            "(setting LINEAGE_GRAPH_MAX_BODY_BYTES)"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(
                f"body exceeds the limit of {max_bytes} bytes (setting LINEAGE_GRAPH_MAX_BODY_BYTES)"
            )
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"body is not UTF-8 (byte {exc.start})") from exc
