"""Where imported events go: this process's ingest service (the CLI's default, like
``lineage-graph ingest``) or a running lineage-graph API's batch endpoint (``--api``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    """POST chunks to ``<api>/api/v1/lineage/batch`` (lineage_graph.client); the API records
    and applies them, or spools them when its Neo4j is down."""

    def __init__(self, api: str, api_key: str | None, chunk_size: int) -> None:
        self.api = api
        self.api_key = api_key
        self.chunk_size = chunk_size

    def send(self, events: Sequence[dict[str, Any]], progress: Progress | None = None
             ) -> ImportTotals:
        from lineage_graph.client import LineageGraphClient

        totals = ImportTotals()
        with LineageGraphClient(self.api, self.api_key) as client:
            for start in range(0, len(events), self.chunk_size):
                chunk = events[start:start + self.chunk_size]
                for result in client.post_events(chunk):
                    totals.add(result["status"], start + result["index"], result.get("error"))
                if progress is not None:
                    progress(len(chunk))
        return totals
