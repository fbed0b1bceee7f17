"""Pages of a lineage answer: nodes in walk order, `first` at a time, and an opaque cursor for
the next page that only the same question accepts.

A walk is deterministic (breadth-first, each hop's nodes in elementId order), so page k is the
k-th slice of one ordering: a page re-walks up to its own end (its cost grows with offset +
first, never with the history), and no page ends beyond WALK_PAGES_OF_LIMIT times the node
limit. A cursor is not secret (an offset and a digest of the question): forging one only asks
for a page the caller could reach by paging.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from lineage_graph.errors import InvalidRequestError

DEFAULT_PAGE = 1_000  # nodes per page when `first` is not given
WALK_PAGES_OF_LIMIT = 10  # a page ends at most this many node limits into the walk


def question_key(*parts: Any) -> str:
    """A short digest of everything that decides the walk's order (start, direction, depth,
    asOf, level): a cursor is only valid for the question that made it."""
    raw = json.dumps([str(p) for p in parts], separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:16]


def next_cursor(offset: int, key: str) -> str:
    raw = json.dumps({"o": offset, "q": key}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def cursor_offset(cursor: str | None, key: str) -> int:
    """Where the page after ``cursor`` starts; 0 without one. A cursor this API did not return,
    or one returned for another question, is a 400."""
    if cursor is None:
        return 0
    refused = InvalidRequestError("after: not a cursor this API returned for this lineage "
                                  "question (same node, direction, depth, asOf and level)",
                                  field="after")
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise refused from exc
    if not (isinstance(found, dict) and found.get("q") == key
            and type(found.get("o")) is int and 0 < found["o"] < 2**31):
        raise refused
    offset: int = found["o"]
    return offset


def check_walk(offset: int, first: int, max_nodes: int) -> int:
    """The nodes a walk must take to answer the page at ``offset``: 400 beyond the walk
    limit."""
    end = offset + first
    if end > WALK_PAGES_OF_LIMIT * max_nodes:
        raise InvalidRequestError(
            f"lineage pages end at {WALK_PAGES_OF_LIMIT * max_nodes} nodes into the walk "
            f"({WALK_PAGES_OF_LIMIT} times the node limit): ask for a smaller depth, a direction "
            "or another level", field="after")
    return end


def check_first(first: int | None, max_nodes: int) -> int:
    """The page size: ``first`` within 1..max_nodes, DEFAULT_PAGE (at most max_nodes) if
    None."""
    if first is None:
        return min(DEFAULT_PAGE, max_nodes)
    if not 1 <= first <= max_nodes:
        raise InvalidRequestError(f"first must be between 1 and {max_nodes}", field="first")
    return first
