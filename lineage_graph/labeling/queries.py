"""Read side of labels: a session's labels page by page, and every label of an item."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from lineage_graph.db import labeling as store
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError
from lineage_graph.limits import check_limit


def label_cursor(label: dict[str, Any]) -> str:
    """An opaque cursor for the label after which the next page starts."""
    time = label["time"]
    stamp = time.iso_format() if hasattr(time, "iso_format") else str(time)
    raw = json.dumps([stamp, label["labelId"]]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _parse_cursor(cursor: str) -> tuple[str, str]:
    """(time in UTC, labelId) from a cursor; anything else this API did not return is a 400."""
    refused = InvalidRequestError("after: not a cursor this API returned", field="after")
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise refused from exc
    if not (isinstance(found, list) and len(found) == 2
            and all(isinstance(part, str) for part in found)):
        raise refused
    stamp, label_id = found
    try:
        label_id.encode("utf-8")  # a lone surrogate cannot reach Neo4j
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("no time zone")
        return at.astimezone(UTC).isoformat(), label_id
    except (ValueError, OverflowError, UnicodeError) as exc:
        raise refused from exc


class LabelQueries:
    def __init__(self, db: Database, max_limit: int) -> None:
        self.db = db
        self.max_limit = max_limit

    def of_session(self, session_id: str, *, item_id: str | None = None,
                   schema: str | None = None, after: str | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """A session's labels in (time, id) order; ``after`` is the cursor of the last label
        of the previous page."""
        return self._labels(session_id=session_id, item_id=item_id, schema=schema,
                            after=after, limit=limit)

    def of_item(self, item_id: str, *, schema: str | None = None, after: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Every label given to one item, in any session, in (time, id) order."""
        if not item_id:
            raise InvalidRequestError("itemId is required", field="itemId")
        return self._labels(session_id=None, item_id=item_id, schema=schema, after=after,
                            limit=limit)

    def _labels(self, *, session_id: str | None, item_id: str | None, schema: str | None,
                after: str | None, limit: int | None) -> list[dict[str, Any]]:
        limit = check_limit(self.max_limit if limit is None else limit, self.max_limit)
        position = None if after is None else _parse_cursor(after)
        return self.db.read(lambda tx: store.labels(
            tx, session_id=session_id, item_id=item_id, schema=schema, after=position,
            limit=limit))
