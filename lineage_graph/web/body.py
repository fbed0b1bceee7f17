"""Read a request body without ever holding more than the configured limit.

openlineage-python's HttpTransport can gzip its bodies (``compression: gzip``); those are
inflated here, with the limit applied to the inflated size too.
"""

from __future__ import annotations

import zlib

from fastapi import Request

from lineage_graph.errors import InvalidRequestError, PayloadTooLargeError


async def read_text(request: Request, max_bytes: int) -> str:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(
            f"body of {declared} bytes exceeds the limit of {max_bytes} "
            "(setting LINEAGE_GRAPH_MAX_BODY_BYTES)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(
                f"body exceeds the limit of {max_bytes} bytes "
                "(setting LINEAGE_GRAPH_MAX_BODY_BYTES)")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body, max_bytes)
    elif encoding not in ("", "identity"):
        raise InvalidRequestError(f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"body is not UTF-8 (byte {exc.start})") from exc


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """One whole gzip member, inflated to at most ``max_bytes``. A cut-short stream or bytes
    after the member (a second member, trailing junk) are refused: reading only part of what
    the sender meant would store a different event than the one it sent."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise InvalidRequestError(f"body is not valid gzip ({exc})") from exc
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLargeError(
            f"inflated body exceeds the limit of {max_bytes} bytes "
            "(setting LINEAGE_GRAPH_MAX_BODY_BYTES)")
    if not inflater.eof:
        raise InvalidRequestError("gzip body is truncated (the stream ends before its end "
                                  "marker and checksum)")
    if inflater.unused_data:
        raise InvalidRequestError(
            f"gzip body has {len(inflater.unused_data)} bytes after its first member "
            "(send one gzip member)")
    return out
