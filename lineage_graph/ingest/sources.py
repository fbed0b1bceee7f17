"""Read events from request bodies and files: a JSON object, a JSON array, or NDJSON."""

from __future__ import annotations

from typing import Any

from lineage_graph.errors import InvalidRequestError
from lineage_graph.json_limits import JsonValueError, loads
from lineage_graph.openlineage.parse import UnparseableEvent

RawEvent = tuple[Any, str | None]  # the JSON value and, when known, its text as received


def events_from_text(text: str) -> list[RawEvent]:
    """Split a body into events. A JSON array is one list of events; otherwise every
    non-blank line is one event (NDJSON), which also covers a single JSON object."""
    stripped = text.strip()
    if not stripped:
        raise InvalidRequestError("the body is empty: send a JSON array or NDJSON of events")
    if stripped.startswith("["):
        try:
            data = loads(stripped, check=False)  # each event's values are checked as it is parsed
        except JsonValueError as exc:
            raise InvalidRequestError(f"the body is {exc.problem}") from exc
        if not isinstance(data, list):
            raise InvalidRequestError("the body is not a JSON array of events")
        return [(item, None) for item in data]
    try:
        return [(loads(stripped, check=False), stripped)]
    except JsonValueError:
        pass
    events: list[RawEvent] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append((loads(line, check=False), line))
        except JsonValueError as exc:
            events.append((UnparseableEvent(f"line {number} is {exc.problem}"), None))
    return events
