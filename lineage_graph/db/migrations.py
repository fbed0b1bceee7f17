"""Apply ``schema/constraints.cypher`` idempotently (every statement is IF NOT EXISTS)."""

from __future__ import annotations

import neo4j

from lineage_graph.db.connection import Database
from lineage_graph.schema_files import cypher_statements, schema_dir


def schema_statements() -> list[str]:
    return cypher_statements((schema_dir() / "constraints.cypher").read_text(encoding="utf-8"))


def migrate(db: Database) -> int:
    """Create missing constraints and indexes; returns how many statements ran."""
    statements = schema_statements()

    def apply(session: neo4j.Session) -> int:
        for statement in statements:
            # Schema commands cannot share a transaction with data writes: auto-commit each.
            session.run(statement).consume()
        session.run("CALL db.awaitIndexes(300)").consume()
        return len(statements)

    return db.in_session(apply)
