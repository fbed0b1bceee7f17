"""A small client of a running lineage-graph API, for this package's own commands (``--api``,
the demo, the importers): one error policy for all of them. A request that cannot reach the API,
or that it refuses, is a :class:`RemoteApiError` naming the URL and the API's own message.

Emitters keep using the OpenLineage client (``POST /api/v1/lineage``); this client is for the
platform's other endpoints and its batch path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from lineage_graph.errors import RemoteApiError


class LineageGraphClient:
    def __init__(self, api: str, api_key: str | None = None, timeout_s: float = 600.0) -> None:
        self.api = api.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout_s, headers=headers)

    def __enter__(self) -> LineageGraphClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def post_events(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """``POST /api/v1/lineage/batch``: the API's answer for each event (index, status...)."""
        body = self._post("/api/v1/lineage/batch", json.dumps(list(events)), ok=(200, 202))
        results: list[dict[str, Any]] = body["results"]
        return results

    def post_scene(self, document: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/v1/scenes``: the stored scene version, as the API describes it."""
        return self._post("/api/v1/scenes", json.dumps(document), ok=(201,))

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """A GraphQL query's ``data``; its first error, if any, as a RemoteApiError."""
        # A query the API refuses before running it (too deep, too large) is a 400 with errors.
        body = self._post("/graphql", json.dumps({"query": query, "variables": variables}),
                          ok=(200, 400))
        if body.get("errors"):
            raise RemoteApiError(f"GraphQL error: {body['errors'][0]['message']}")
        data: dict[str, Any] = body["data"]
        return data

    def _post(self, path: str, content: str, ok: tuple[int, ...]) -> dict[str, Any]:
        url = self.api + path
        try:
            response = self._http.post(url, content=content,
                                       headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise RemoteApiError(f"cannot reach {url}: {exc}") from exc
        if response.status_code not in ok:
            raise RemoteApiError(f"{url} answered {response.status_code}: {_message(response)}")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise RemoteApiError(f"{url} answered {response.status_code} with no JSON") from exc
        return body


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text
