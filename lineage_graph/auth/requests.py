"""What a request's API key allows, for whoever serves it (HTTP routes and GraphQL resolvers):
the scope a route declares (web/auth.py) authenticates the key and leaves it on
``request.state.api_key`` (None with auth off)."""

from __future__ import annotations

from starlette.requests import Request

from lineage_graph.auth.keys import ApiKey
from lineage_graph.errors import ForbiddenError
from lineage_graph.ledger.receipt import Receipt


def request_receipt(request: Request | None) -> Receipt:
    """Taken as a request arrives: when, and which API key sent it (None with auth off). The
    records of its writes carry it."""
    key: ApiKey | None = getattr(getattr(request, "state", None), "api_key", None)
    return Receipt.now(key.key_id if key is not None else None)


def require_scope(request: Request | None, scope: str) -> None:
    """For GraphQL resolvers: refuse when auth is on and the caller's key lacks ``scope``."""
    key: ApiKey | None = getattr(getattr(request, "state", None), "api_key", None)
    if key is not None and not key.allows(scope):
        raise ForbiddenError(f"this API key lacks the {scope!r} scope")
