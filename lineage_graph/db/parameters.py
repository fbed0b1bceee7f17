"""Statement parameters the driver must not spell out.

For every statement it sends, the neo4j driver builds the text of a debug log line, the
``repr`` of each parameter, whether debug logging is on or not. For a batch's row lists that
is the whole batch as text: 1.9 MB and 17 ms for 500 events on this machine, about 7 % of the
API's CPU on the batch path. Large parameters travel wrapped: the same values on the wire
(the driver packs dict and list subclasses as dicts and lists), a short ``repr`` in that line.
"""

from __future__ import annotations

from typing import Any


class UnloggedMap(dict[str, Any]):
    """A map parameter (a batch's row lists) whose repr names its size only."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<map of {len(self)} entries, not logged>"


class UnloggedRows(list[Any]):
    """A list parameter (rows for an ``UNWIND``) whose repr names its size only."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} rows, not logged>"


def unlogged(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each list and map value wrapped."""
    return {key: UnloggedRows(value) if isinstance(value, list)
            else UnloggedMap(value) if isinstance(value, dict) else value
            for key, value in params.items()}
