"""`lineage-graph db`: the schema (migrate) and rebuilding the graph from the record."""

from __future__ import annotations

from typing import Annotated

import typer

from lineage_graph.cli.common import ensure_neo4j, load_settings, open_database, out, progress_bar

db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply schema/ constraints and indexes (idempotent)."""
    from lineage_graph.db.migrations import migrate

    settings = load_settings()
    ensure_neo4j(settings)
    with open_database(settings) as db:
        count = migrate(db)
    out.print(f"schema up to date ({count} constraints and indexes)")


@db_app.command("rebuild")
def db_rebuild(
    force: Annotated[bool, typer.Option(
        "--force", help="Rebuild even though labeling data, or scenes stored before they were "
                        "recorded, will be lost.")] = False,
) -> None:
    """Delete the derived graph and replay the event record (events and scene documents) in
    sequence order. Refuses while the graph holds data no record can bring back."""
    from lineage_graph.db.migrations import migrate
    from lineage_graph.ingest.rebuild import rebuild

    settings = load_settings()
    ensure_neo4j(settings)
    with open_database(settings) as db, progress_bar() as progress:
        migrate(db)
        task = progress.add_task("replaying records", total=None)
        replayed = rebuild(
            db, settings.write_chunk_events,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            force=force,
        )
    out.print(f"rebuilt the graph from {replayed} records")
