"""Where imported events go: this process's ingest service (the CLI's default, like
``lineage-graph ingest``) or a running lineage-graph API's batch endpoint (``--api``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lineage_graph.errors import RemoteApiError

Progress = Callable[[int], None]  # called with the number of events just sent


@dataclass
class ImportTotals:
    """What the ingest path answered for the imported events."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    spooled: int = 0
    rejections: list[str] = field(default_factory=list)  # "event #i: reason"

    def add(self, status: str, index: int, error: str | None) -> None:
        setattr(self, status, getattr(self, status) + 1)
        if status == "rejected":
            self.rejections.append(f"event #{index}: {error}")

    def summary(self) -> str:
        text = f"accepted {self.accepted}, duplicate {self.duplicate}, rejected {self.rejected}"
        return text + (f", spooled {self.spooled}" if self.spooled else "")


class EventSink(Protocol):
    def send(self, events: Sequence[dict[str, Any]], progress: Progress | None = None
             ) -> ImportTotals: ...


class LocalSink:
    """Validate, record and apply through :class:`IngestService`, which writes in chunks (one
    transaction each, the next validated while the last is written) and reports each."""

    def __init__(self, service: Any) -> None:  # an IngestService
        self.service = service

    def send(self, events: Sequence[dict[str, Any]], progress: Progress | None = None
             ) -> ImportTotals:
        totals = ImportTotals()
        result = self.service.ingest_raw([(event, None) for event in events],
                                         on_progress=progress)
        for outcome in result.outcomes:
            totals.add(outcome.status, outcome.index, outcome.error)
        return totals


class ApiSink:
    """POST chunks to ``<api>/api/v1/lineage/batch`` (with ``Authorization: Bearer`` when a key
    is given); the API records and applies them, or spools them when its Neo4j is down."""

    def __init__(self, api: str, api_key: str | None, chunk_size: int,
                 timeout_s: float = 300.0) -> None:
        self.url = api.rstrip("/") + "/api/v1/lineage/batch"
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.chunk_size = chunk_size
        self.timeout_s = timeout_s

    def send(self, events: Sequence[dict[str, Any]], progress: Progress | None = None
             ) -> ImportTotals:
        import httpx

        totals = ImportTotals()
        with httpx.Client(timeout=self.timeout_s, headers=self.headers) as client:
            for start in range(0, len(events), self.chunk_size):
                chunk = list(events[start:start + self.chunk_size])
                try:
                    response = client.post(self.url, content=json.dumps(chunk))
                except httpx.HTTPError as exc:
                    raise RemoteApiError(f"cannot reach {self.url}: {exc}") from exc
                if response.status_code not in (200, 202):
                    raise RemoteApiError(f"{self.url} answered {response.status_code}: "
                                         f"{_message(response)}")
                for result in response.json()["results"]:
                    totals.add(result["status"], start + result["index"], result.get("error"))
                if progress is not None:
                    progress(len(chunk))
        return totals


def _message(response: Any) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return str(response.text)
