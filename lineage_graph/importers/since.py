"""``--since``: an ISO 8601 date or time (a time without a zone is UTC), or an age such as
``90m``, ``12h`` or ``7d`` counted back from now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from lineage_graph.errors import InvalidRequestError

_AGE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    text = text.strip()
    age = _AGE.match(text)
    if age:
        reference = now or datetime.now(UTC)
        return reference - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequestError(
            f"--since {text!r}: expected an ISO 8601 date or time (2026-11-01, "
            "2026-11-01T12:00:00+00:00) or an age (90m, 12h, 7d)", field="since") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
