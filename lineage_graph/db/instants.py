"""Instants (Neo4j DATETIME values) read as three integers, not as driver DateTime objects.

The Python driver hydrates every temporal value it receives into a ``neo4j.time.DateTime`` in
pure Python (calendar arithmetic, pytz): about 20 µs each on this machine. The Marquez lineage
of 151 nodes carries about 700 of them; hydrating them was 16 ms of the 23 ms its two
statements took, for 5 ms of Neo4j's own work (docs/benchmarks.md#instants-as-integers).

A statement that returns many instants returns each as ``[epochSeconds, nanosecond,
offsetSeconds]`` (:func:`instant`, in the Cypher) and its DAO function turns them into
``datetime.datetime`` values (:func:`from_instant`): the same value ``DateTime.to_native()``
gave (microseconds truncated, the same UTC offset), at about 1 µs each. Every instant the
platform writes has a UTC offset (``datetime(isoString)``); for a named zone's historical local
mean time Neo4j's zone data and the driver's pytz may disagree by minutes, which no stored
value here exercises.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, LiteralString


def instant(variable: LiteralString) -> LiteralString:
    """Cypher: the DATETIME ``variable`` (a plain variable or property, e.g. ``r.startedAt``)
    as ``[epochSeconds, nanosecond, offsetSeconds]`` (whole seconds since the epoch, the
    nanoseconds past them, the UTC offset), or null."""
    # epochSeconds alone rounds toward zero (1969-01-01T00:00:00.001Z gives -31535999, one
    # second late once the fraction is added back): of the instant cut to its second it is
    # exact.
    return ("CASE WHEN " + variable + " IS NULL THEN null ELSE [datetime.truncate('second', "
            + variable + ").epochSeconds, " + variable + ".nanosecond, " + variable
            + ".offsetSeconds] END")


def instant_properties(variable: LiteralString, names: tuple[LiteralString, ...]
                       ) -> LiteralString:
    """Cypher map entries ``name: instant(variable.name)`` for each of ``names``: the one list
    a statement's projection and its row mapper (:func:`with_instants`) both read."""
    return ", ".join([name + ": " + instant(variable + "." + name) for name in names])


def from_instant(value: list[int] | None) -> datetime | None:
    """The value of :func:`instant` as an aware datetime, as ``DateTime.to_native()`` gives it:
    microseconds truncated, the offset in whole minutes (as the driver keeps it)."""
    if value is None:
        return None
    seconds, nanosecond, offset_seconds = value
    return datetime.fromtimestamp(seconds, _zone(offset_seconds)).replace(
        microsecond=nanosecond // 1000)


@lru_cache(maxsize=64)  # offsets in use are few
def _zone(offset_seconds: int) -> timezone:
    minutes, _ = divmod(offset_seconds, 60)  # the driver's FixedOffset drops the seconds
    return timezone(timedelta(minutes=minutes))


def with_instants(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``row`` with the :func:`instant` values under ``keys`` turned into datetimes."""
    for key in keys:
        row[key] = from_instant(row[key])
    return row
