"""`lineage-graph neo4j`: the managed local Neo4j (up, down, status)."""

from __future__ import annotations

import typer

from lineage_graph.cli.common import load_settings, out

neo4j_app = typer.Typer(help="Manage the local Neo4j Community server (no Docker needed).",
                        no_args_is_help=True)


@neo4j_app.command("up")
def neo4j_up() -> None:
    """Download (once), configure and start the managed Neo4j; wait for Bolt; print the URI.

    Idempotent: when it already runs, just prints the URI.
    """
    from lineage_graph.neo4j_server import ManagedNeo4j

    settings = load_settings()
    status = ManagedNeo4j(settings).up()
    out.print(status.uri)


@neo4j_app.command("down")
def neo4j_down() -> None:
    """Stop the managed Neo4j cleanly."""
    from lineage_graph.neo4j_server import ManagedNeo4j

    stopped = ManagedNeo4j(load_settings()).down()
    out.print("stopped" if stopped else "not running")


@neo4j_app.command("status")
def neo4j_status() -> None:
    """Say whether the managed Neo4j runs, where, and where its log and password file are."""
    from lineage_graph.neo4j_server import ManagedNeo4j

    settings = load_settings()
    manager = ManagedNeo4j(settings)
    status = manager.status()
    out.print(f"{'running' if status.running else 'stopped'}  uri={status.uri}  "
              f"pid={status.pid or '-'}")
    out.print(f"log: {status.log}")
    out.print(f"password file: {manager.password_file}")
    out.print(f"Neo4j Browser: {status.browser_url}  (connect to {status.uri} as user "
              f"{settings.neo4j_user}; the password is in the password file)",
              highlight=False, soft_wrap=True)
    if not status.running:
        raise typer.Exit(code=3)
