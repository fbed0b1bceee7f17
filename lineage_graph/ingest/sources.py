"""Read events from request bodies and files: a JSON object, a JSON array, or NDJSON."""

from __future__ import annotations

import json
from typing import Any

from lineage_graph.errors import InvalidRequestError
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
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidRequestError(
                f"the body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from exc
        return [(item, None) for item in data]
    try:
        return [(json.loads(stripped), stripped)]
    except json.JSONDecodeError:
        pass
    events: list[RawEvent] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append((json.loads(line), line))
        except json.JSONDecodeError as exc:
            events.append((UnparseableEvent(f"line {number} is not valid JSON ({exc.msg})"), None))
    return events
