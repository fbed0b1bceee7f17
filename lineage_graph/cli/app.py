"""The ``lineage-graph`` command line: the root app, its own commands (serve, demo, cypher,
ingest), the sub-apps of the other modules of this package, and ``main()``, the one place that
answers domain errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from lineage_graph.cli.apikeys import apikey_app
from lineage_graph.cli.common import (
    console,
    ensure_neo4j,
    fail,
    load_settings,
    open_database,
    out,
    progress_bar,
)
from lineage_graph.cli.consume import consume
from lineage_graph.cli.contract import api_app
from lineage_graph.cli.database import db_app
from lineage_graph.cli.importers import import_app
from lineage_graph.cli.kafka_broker import kafka_app
from lineage_graph.cli.ledger import ledger_app
from lineage_graph.cli.models import model_app
from lineage_graph.cli.neo4j_server import neo4j_app
from lineage_graph.cli.retention import retention_app
from lineage_graph.cli.scenes import scene_app
from lineage_graph.cli.spool import spool_app
from lineage_graph.cli.usage import stats
from lineage_graph.errors import LineageGraphError
from lineage_graph.settings import Settings

app = typer.Typer(help="lineage-graph: lineage for ML and physical-AI teams, in Neo4j.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
# One module per sub-app; each lets domain errors propagate to main().
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(db_app, name="db")
app.add_typer(api_app, name="api")
app.add_typer(scene_app, name="scene")
app.add_typer(model_app, name="model")
app.add_typer(spool_app, name="spool")
app.add_typer(ledger_app, name="ledger")
app.add_typer(apikey_app, name="apikey")
app.add_typer(import_app, name="import")
app.add_typer(retention_app, name="retention")
app.add_typer(kafka_app, name="kafka")
app.command()(stats)
app.command()(consume)

# -- serve ---------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 5000, where OpenLineage "
                                                  "emitters point).")] = None,
) -> None:
    """Serve the API: POST /api/v1/lineage, GET /api/v1/lineage, GraphQL at /graphql.

    Starts the managed local Neo4j first unless NEO4J_URI names an existing server.
    """
    from lineage_graph.web.app import create_app
    from lineage_graph.web.server import serve_forever

    # Authentication is decided from the address actually bound, so the settings the app is
    # built from must name it (a --host 0.0.0.0 with auth=auto means API keys are required).
    configured = load_settings()
    settings = replace(configured, api_host=host or configured.api_host,
                       api_port=port or configured.api_port)
    bind_host, bind_port = settings.api_host, settings.api_port
    try:
        settings.auth_enabled  # noqa: B018 -- refuses LINEAGE_GRAPH_AUTH=off off loopback
        ensure_neo4j(settings)
    except (LineageGraphError, ValueError) as exc:
        raise fail(str(exc)) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The driver logs every "index already exists" notice of the start-up migration at INFO.
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    console.print(f"GraphiQL: http://{bind_host}:{bind_port}/graphql   "
                  f"OpenLineage endpoint: http://{bind_host}:{bind_port}/api/v1/lineage")
    serve_forever(create_app(settings, owns_process=True), bind_host, bind_port)


# -- demo ----------------------------------------------------------------------------------------


@app.command()
def demo(
    api: Annotated[str | None, typer.Option(
        help="Build the demo in this running lineage-graph API (e.g. http://host:5000) "
             "instead of starting one.")] = None,
    serve_after: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="Keep serving the API after the demo (default; ignored "
                                   "with --api).")] = True,
) -> None:
    """Build a physical-AI pipeline with a planted regression through the platform's real APIs
    (USD scenes, render runs, labeling, training, evaluation), print the forensic answer, and
    keep serving it. Running it again changes nothing."""
    from lineage_graph.demo.pipeline import DemoPipeline
    from lineage_graph.demo.report import print_report

    settings = load_settings()
    if api is not None:
        result = DemoPipeline(api, settings.home / "demo", log=_step).run()
        print_report(out, result)
        return
    ensure_neo4j(settings)
    with _serving(settings) as url:
        result = DemoPipeline(url, settings.home / "demo", log=_step).run()
        print_report(out, result)
        _print_browser(settings)
        if serve_after:
            console.print(f"Serving at {url} (GraphiQL: {url}/graphql); Ctrl-C to stop.")
            _wait_forever()


def _print_browser(settings: Settings) -> None:
    """Where Neo4j Browser is and how to log in (never the password itself)."""
    if not settings.managed:
        return
    from lineage_graph.neo4j_server import ManagedNeo4j

    manager = ManagedNeo4j(settings)
    out.print(f"[bold]Neo4j Browser[/bold]: {manager.status().browser_url}  (connect to "
              f"{settings.bolt_uri} as user {settings.neo4j_user}; the password is in "
              f"{manager.password_file})", highlight=False, soft_wrap=True)


def _step(message: str) -> None:
    console.print(f"[dim]demo:[/dim] {message}", highlight=False)


@contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    """The API served in a background thread of this process, for as long as the block runs."""
    import threading
    import time

    import uvicorn

    from lineage_graph.web.app import create_app
    from lineage_graph.web.server import server_config

    logging.getLogger("neo4j").setLevel(logging.WARNING)
    server = uvicorn.Server(server_config(create_app(settings, owns_process=True),
                                          settings.api_host, settings.api_port,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise fail(f"the API could not start on {settings.api_host}:{settings.api_port} "
                        "(port in use? set LINEAGE_GRAPH_PORT)")
        time.sleep(0.05)
    try:
        yield f"http://{settings.api_host}:{settings.api_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait_forever() -> None:
    import threading

    threading.Event().wait()


# -- cypher --------------------------------------------------------------------------------------


@app.command()
def cypher(
    query: Annotated[str | None, typer.Argument(
        help="The Cypher statement; '-' reads it from stdin.")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", help="Read the statement from this file ('-': stdin).",
        allow_dash=True)] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="NAME=VALUE, repeatable; VALUE is JSON when it parses as "
                              "JSON, else a string.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per row.")] = False,
    table: Annotated[bool, typer.Option(
        "--table", help="An aligned table (the default).")] = False,
    write: Annotated[bool, typer.Option(
        "--write", help="Run in a write transaction (without it a write is refused).")] = False,
) -> None:
    """Run one Cypher statement against the configured Neo4j (managed, or NEO4J_URI) in a read
    transaction, with the query timeout (LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS)."""
    from lineage_graph.cypher_output import json_lines, parse_params, table_lines
    from lineage_graph.db.adhoc import run_statement

    if as_json and table:
        raise fail("--json and --table: choose one")
    if (query is None) == (file is None):
        raise fail("give the statement as an argument or with -f FILE (not both)")
    source = str(file) if file is not None else str(query)
    if source == "-":
        text = sys.stdin.read()
    elif file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"{file}: {exc.strerror or exc}") from exc
    else:
        text = source
    settings = load_settings()
    params = parse_params(param or [])
    ensure_neo4j(settings, quiet=True)
    with open_database(settings) as db:
        result = run_statement(db, text, params, write=write)
    for line in (json_lines if as_json else table_lines)(result):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


# -- ingest --------------------------------------------------------------------------------------


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="JSON (object or array) or NDJSON files.",
                                                exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load OpenLineage events from files through the batch path, with progress and a summary.

    Exits 1 when any event was rejected (each rejection is listed with its reason).
    """
    from lineage_graph.db.migrations import migrate
    from lineage_graph.ingest.plan_refresh import WritePlanRefresher
    from lineage_graph.ingest.service import IngestService
    from lineage_graph.ingest.sources import events_from_text
    from lineage_graph.process_tuning import tune_process

    settings = load_settings()
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    rejected: list[str] = []
    ensure_neo4j(settings)
    with open_database(settings) as db, progress_bar() as progress:
        migrate(db)
        service = IngestService(db, chunk_size=settings.write_chunk_events)
        loaded = [(path, events_from_text(path.read_text(encoding="utf-8")))
                  for path in files]
        task = progress.add_task("ingesting", total=sum(len(raws) for _, raws in loaded))
        tune_process(settings)  # a long-running process from here
        with WritePlanRefresher.for_command(db):  # long imports replan
            for path, raws in loaded:
                # One call per file: the service chunks it and validates the next chunk while
                # the last one is written.
                result = service.ingest_raw(raws,
                                            on_progress=lambda n: progress.advance(task, n))
                for status, n in result.summary().items():
                    totals[status] += n
                rejected += [f"{path}#{o.index}: {o.error}" for o in result.outcomes
                             if o.status == "rejected"]
    for line in rejected:
        console.print(f"[yellow]rejected[/yellow] {line}", highlight=False, soft_wrap=True)
    out.print(f"accepted {totals['accepted']}, duplicate {totals['duplicate']}, "
              f"rejected {totals['rejected']}")
    if rejected:
        raise typer.Exit(code=1)


def main() -> None:
    """Run the command line. Every command's domain errors are answered here, in one way: one
    line on stderr (``error: ...``) and exit code 1, never a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except LineageGraphError as exc:
        raise SystemExit(fail(str(exc)).exit_code) from exc


if __name__ == "__main__":
    main()


