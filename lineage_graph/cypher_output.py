"""How `lineage-graph cypher` reads parameters and prints results: an aligned table for people,
JSON lines for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lineage_graph.db.adhoc import StatementResult
from lineage_graph.errors import InvalidRequestError


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; a value that parses as JSON is that JSON (``n=3``, ``ids=["a"]``),
    any other value is a string (``runId=3f2c...``)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidRequestError(f"--param {pair!r}: expected NAME=VALUE", field="param")
        try:
            params[name.strip()] = json.loads(value)
        except ValueError:
            params[name.strip()] = value
    return params


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def table_lines(result: StatementResult) -> Iterator[str]:
    """Columns aligned under their names, then the row count."""
    cells = [[_cell(v) for v in row] for row in result.rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)])
              for i, c in enumerate(result.columns)]
    if result.columns:
        yield "  ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)).rstrip()
        yield "  ".join("-" * w for w in widths)
    for row in cells:
        yield "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
    yield f"({len(cells)} row{'' if len(cells) == 1 else 's'})"


def json_lines(result: StatementResult) -> Iterator[str]:
    """One JSON object per row, keyed by column."""
    for row in result.rows:
        yield json.dumps(dict(zip(result.columns, row, strict=True)), ensure_ascii=False)
