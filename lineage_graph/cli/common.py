"""What every ``lineage-graph`` sub-command shares: the consoles, one way to fail, the
settings, the managed Neo4j and the progress bar."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lineage_graph.settings import Settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise fail(str(exc)) from exc


def ensure_neo4j(settings: Settings, quiet: bool = False) -> None:
    """Start the managed Neo4j when no NEO4J_URI is set; otherwise use that server."""
    if not settings.managed:
        return
    from lineage_graph.neo4j_server import ManagedNeo4j

    status = ManagedNeo4j(settings).up(progress=not quiet)
    if not quiet:
        console.print(f"Neo4j {settings.neo4j_version} running at {status.uri} "
                      f"(pid {status.pid})")


def open_database(settings: Settings):  # type: ignore[no-untyped-def]
    from lineage_graph.db.connection import Database

    return Database(settings)


def progress_bar(transient: bool = False) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=transient)
