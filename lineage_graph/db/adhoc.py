"""One ad-hoc Cypher statement from a person (``lineage-graph cypher``): the only Cypher in the
project not written here in advance, so it runs under the same guards as the rest. A read
transaction unless the caller asked to write (Neo4j itself refuses a write in a read
transaction), the configured query timeout, and Neo4j's errors as one line naming the problem.
Results come back as plain JSON values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import neo4j
from neo4j.exceptions import ClientError
from neo4j.graph import Node, Path, Relationship

from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError


class CypherError(InvalidRequestError):
    """The statement was refused: a syntax error, a write without --write, a missing
    parameter, ..."""


@dataclass(frozen=True)
class StatementResult:
    columns: list[str]
    rows: list[list[Any]]  # plain JSON values, in column order


def run_statement(db: Database, text: str, params: dict[str, Any],
                  write: bool = False) -> StatementResult:
    if not text.strip():
        raise CypherError("no statement given", field="query")

    def work(tx: neo4j.ManagedTransaction) -> StatementResult:
        # The text is the user's own: this is the one place a non-literal statement runs.
        result = tx.run(text, params)
        columns = list(result.keys())
        return StatementResult(columns, [[plain(v) for v in record.values()]
                                         for record in result])

    try:
        if write:
            timed = neo4j.unit_of_work(timeout=db.settings.query_timeout_seconds)(work)
            return db.write(timed)
        return db.read(work)
    except ClientError as exc:
        raise CypherError(_one_line(exc)) from exc


def _one_line(exc: ClientError) -> str:
    code = exc.code or ""
    message = " ".join((exc.message or "").split())
    if "AccessMode" in code or ("write" in message.lower() and "read" in message.lower()):
        return ("this statement writes, and runs in a read transaction: add --write to run it "
                "in a write transaction")
    if "SyntaxError" in code:
        return f"syntax error: {message[:300]}"
    if "ParameterMissing" in code:
        return f"{message[:300]} (pass it with --param NAME=VALUE)"
    return f"{code.rsplit('.', 1)[-1] or 'refused'}: {message[:300]}"


def plain(value: Any) -> Any:
    """A Neo4j value as JSON: nodes as {labels, properties}, relationships as {type,
    properties}, paths as their nodes and relationships, times as ISO-8601 strings."""
    if isinstance(value, Node):
        return {"labels": sorted(value.labels), "properties": plain(dict(value))}
    if isinstance(value, Relationship):
        return {"type": value.type, "properties": plain(dict(value))}
    if isinstance(value, Path):
        return {"nodes": [plain(n) for n in value.nodes],
                "relationships": [plain(r) for r in value.relationships]}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "iso_format"):
        return value.iso_format()
    if isinstance(value, bytes):
        return value.hex()
    return value
