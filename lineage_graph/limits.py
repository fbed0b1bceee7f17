"""Bounds every list and walk an API caller can ask for."""

from __future__ import annotations

from lineage_graph.errors import InvalidRequestError


def check_limit(limit: int, max_limit: int) -> int:
    if limit < 1 or limit > max_limit:
        raise InvalidRequestError(
            f"limit must be between 1 and {max_limit} (setting LINEAGE_GRAPH_MAX_LIMIT)",
            field="limit",
        )
    return limit


def check_depth(depth: int, max_depth: int) -> int:
    if depth < 0:
        raise InvalidRequestError("depth must be 0 or more", field="depth")
    if depth > max_depth:
        raise InvalidRequestError(
            f"depth {depth} exceeds the limit of {max_depth} (setting LINEAGE_GRAPH_MAX_DEPTH)",
            field="depth")
    return depth
