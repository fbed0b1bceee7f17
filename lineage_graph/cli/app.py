"""The ``lineage-graph`` command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from lineage_graph.cli.common import (
    console,
    ensure_neo4j,
    fail,
    load_settings,
    open_database,
    out,
    progress_bar,
)
from lineage_graph.cli.importers import import_app
from lineage_graph.errors import LineageGraphError
from lineage_graph.settings import Settings

app = typer.Typer(help="lineage-graph: lineage for ML and physical-AI teams, in Neo4j.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
neo4j_app = typer.Typer(help="Manage the local Neo4j Community server (no Docker needed).",
                        no_args_is_help=True)
db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)
api_app = typer.Typer(help="The API contract files in api/.", no_args_is_help=True)
scene_app = typer.Typer(help="USD scenes: read them with pxr and store them in the graph.",
                        no_args_is_help=True)
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(db_app, name="db")
app.add_typer(api_app, name="api")
model_app = typer.Typer(help="Model files: fingerprints that survive reordering and metadata.",
                        no_args_is_help=True)
app.add_typer(scene_app, name="scene")
app.add_typer(model_app, name="model")
spool_app = typer.Typer(help="The durable spool of events accepted while Neo4j was unreachable.",
                        no_args_is_help=True)
app.add_typer(spool_app, name="spool")
ledger_app = typer.Typer(help="The event record as a tamper-evident hash chain.",
                         no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
apikey_app = typer.Typer(help="API keys (scopes ingest, read, admin).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
app.add_typer(import_app, name="import")

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
    import uvicorn

    from lineage_graph.web.app import create_app

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
    uvicorn.run(create_app(settings), host=bind_host, port=bind_port, log_level="info")


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

    logging.getLogger("neo4j").setLevel(logging.WARNING)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.api_host,
                                           port=settings.api_port, log_level="warning"))
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


# -- neo4j ---------------------------------------------------------------------------------------


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


# -- db ------------------------------------------------------------------------------------------


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
    from lineage_graph.ingest.service import IngestService
    from lineage_graph.ingest.sources import events_from_text

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
        for path, raws in loaded:
            # One call per file: the service chunks it and validates the next chunk while the
            # last one is written.
            result = service.ingest_raw(raws, on_progress=lambda n: progress.advance(task, n))
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


# -- scene ---------------------------------------------------------------------------------------


def _parse_selection(text: str) -> dict[str, str]:
    selection: dict[str, str] = {}
    for part in text.split(","):
        name, sep, option = part.partition("=")
        if not sep or not name.strip() or not option.strip():
            raise typer.BadParameter(f"{text!r}: expected set=option[,set=option...]")
        selection[name.strip()] = option.strip()
    return selection


@scene_app.command("ingest")
def scene_ingest(
    path: Annotated[Path, typer.Argument(help="The scene's root layer (.usd/.usda/.usdc).",
                                         exists=True, dir_okay=False, readable=True)],
    variant: Annotated[list[str] | None, typer.Option(
        help="Variant selections to store, set=opt[,set=opt...]; repeatable.")] = None,
    all_variants: Annotated[bool, typer.Option(
        help="Store every combination of the root prim's variant sets.")] = False,
    max_variants: Annotated[int, typer.Option(
        help="Refuse --all-variants past this many combinations.")] = 256,
    asset_root: Annotated[Path | None, typer.Option(
        help="Folder layer paths are relative to (default: the scene's folder).")] = None,
    api: Annotated[str | None, typer.Option(
        help="Send the scene document to this lineage-graph API (e.g. http://host:5000) "
             "instead of writing to Neo4j directly.")] = None,
) -> None:
    """Read a USD scene (layers, arcs, variant sets, prims per scene variant) and store it.

    Re-ingesting an unchanged scene changes nothing; an edited layer makes a new scene version
    and the old one stays. Missing assets are reported, recorded and never fatal.
    """
    from lineage_graph.db.migrations import migrate
    from lineage_graph.usd.diagnostics import pxr_diagnostics_to_debug_log
    from lineage_graph.usd.extract import read_scene
    from lineage_graph.usd.store import store_scene

    settings = load_settings()
    selections = [_parse_selection(v) for v in variant or []]
    with progress_bar(transient=True) as progress, pxr_diagnostics_to_debug_log():
        task = progress.add_task("composing scene variants", total=None)
        doc = read_scene(
            path, asset_root=asset_root, selections=selections or None,
            all_variants=all_variants, max_variants=max_variants,
            on_progress=lambda done, total: progress.update(task, completed=done,
                                                            total=total),
        )
    if api is not None:
        stored = _post_scene(api, doc.as_dict())
    else:
        ensure_neo4j(settings)
        with open_database(settings) as db, progress_bar(transient=True) as progress:
            migrate(db)
            task = progress.add_task("storing prims", total=None)
            scene = store_scene(db, doc.as_dict(), on_progress=lambda done, total:
                                progress.update(task, completed=done, total=total))
            stored = {**asdict(scene), "warnings": scene.warnings()}
    out.print(f"scene {stored['scene_id']} version {stored['version']} "
              f"(content {stored['content_hash'][:16]}): {stored['layers']} layers, "
              f"{stored['prims']} prims, {stored['variants']} scene variants", highlight=False)
    for missing in stored["missing_assets"]:
        console.print(f"[yellow]warning[/yellow] missing asset: {missing}", highlight=False,
                      soft_wrap=True)
    for warning in stored["warnings"]:
        console.print(f"[yellow]warning[/yellow] {warning}", highlight=False, soft_wrap=True)


def _post_scene(api: str, doc: dict[str, Any]) -> dict[str, Any]:
    import os

    from lineage_graph.client import LineageGraphClient

    with LineageGraphClient(api, os.environ.get("LINEAGE_GRAPH_API_KEY")) as client:
        body = client.post_scene(doc)
    return {"scene_id": body["sceneId"], "version": body["version"],
            "content_hash": body["contentHash"], "layers": body["layers"],
            "prims": body["prims"], "variants": body["variants"],
            "missing_assets": body["missingAssets"], "warnings": body.get("warnings", [])}


# -- spool ---------------------------------------------------------------------------------------


@spool_app.command("status")
def spool_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """How many accepted events wait in the spool (LINEAGE_GRAPH_SPOOL_DIR), the dead letters
    (spooled events the database refused) and the quarantined corrupt lines. Exit 1 when any
    dead letter or quarantined line needs an operator."""
    from lineage_graph.ingest.dead_letters import DeadLetters
    from lineage_graph.ingest.spool import Spool

    settings = load_settings()
    spool = Spool(settings.spool_dir)
    letters = DeadLetters(settings.spool_dir).list()
    quarantined = spool.quarantined()
    if as_json:
        out.print_json(data={"spool": str(settings.spool_dir), "waiting": spool.depth(),
                             "deadLetters": [d.summary() for d in letters],
                             "quarantined": len(quarantined)})
    else:
        out.print(f"spool {settings.spool_dir}: {spool.depth()} events waiting, "
                  f"{len(letters)} dead letters, {len(quarantined)} quarantined lines",
                  highlight=False)
        for letter in letters:
            out.print(f"  dead letter {letter.id}  {_iso(letter.at)}  {letter.reason}",
                      highlight=False, markup=False)
        if letters:
            out.print("  retry with `lineage-graph spool retry ID`, or drop one on purpose with "
                      "`lineage-graph spool discard ID` (kept in discarded.ndjson)",
                      highlight=False, markup=False)
        if quarantined:
            out.print(f"  corrupt lines kept in {spool.directory / 'quarantine.ndjson'}",
                      highlight=False, markup=False)
    if letters or quarantined:
        raise typer.Exit(code=1)


LetterId = Annotated[str, typer.Argument(
    help="Dead letter id (the event's sha256, or 8+ leading characters).")]


@spool_app.command("retry")
def spool_retry(letter_id: LetterId) -> None:
    """Put a dead letter back into the spool: the drain applies it after what waits there."""
    from lineage_graph.ingest.dead_letters import DeadLetters
    from lineage_graph.ingest.spool import Spool

    settings = load_settings()
    letter = DeadLetters(settings.spool_dir).retry(letter_id, Spool(settings.spool_dir))
    out.print(f"dead letter {letter.id} is back in the spool; `lineage-graph spool drain` (or a "
              "running API) applies it", highlight=False)


@spool_app.command("discard")
def spool_discard(letter_id: LetterId) -> None:
    """Drop a dead letter on purpose; it is kept, with the time, in discarded.ndjson."""
    from lineage_graph.ingest.dead_letters import DeadLetters

    settings = load_settings()
    letter = DeadLetters(settings.spool_dir).discard(letter_id)
    out.print(f"dead letter {letter.id} discarded (kept in "
              f"{settings.spool_dir / 'discarded.ndjson'})", highlight=False)


def _iso(unix: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")


@spool_app.command("drain")
def spool_drain() -> None:
    """Apply the spooled events to Neo4j now, in order (the API also drains on its own once
    Neo4j answers). Waits if the API is draining at the same moment."""
    from lineage_graph.ingest.durable import DurableIngest
    from lineage_graph.ingest.service import IngestService
    from lineage_graph.ingest.spool import Spool

    settings = load_settings()
    spool = Spool(settings.spool_dir)
    ensure_neo4j(settings)
    with open_database(settings) as db:
        durable = DurableIngest(IngestService(db, settings.write_chunk_events), spool, db)
        with progress_bar() as progress:
            task = progress.add_task("draining", total=spool.depth())
            done = durable.drain(progress=lambda d: progress.update(
                task, completed=d.applied + d.duplicates + d.rejected))
    assert done is not None
    out.print(f"drained: {done.applied} applied, {done.duplicates} already present, "
              f"{done.rejected} refused; {spool.depth()} waiting", highlight=False)
    if done.rejected:
        out.print(f"{done.rejected} refused events are kept as dead letters: see "
                  "`lineage-graph spool status`", highlight=False, markup=False)
    if done.quarantined:
        out.print(f"{done.quarantined} corrupt spool lines were moved to "
                  f"{spool.directory / 'quarantine.ndjson'}", highlight=False, markup=False)
    if done.rejected or done.quarantined:
        raise typer.Exit(code=1)


# -- ledger --------------------------------------------------------------------------------------


@ledger_app.command("verify")
def ledger_verify(
    checkpoint: Annotated[Path | None, typer.Option(
        help="Also check this signed checkpoint (JSON from `ledger checkpoint`).")] = None,
    public_key: Annotated[Path | None, typer.Option(
        help="The Ed25519 public key (PEM) that signed the checkpoint.")] = None,
    full: Annotated[bool, typer.Option(
        "--full", help="Check the graph against every record, not a sample.")] = False,
    sample: Annotated[int, typer.Option(
        help="Records whose projection is checked when not --full.")] = 200,
) -> None:
    """Recompute the hash chain over every record; exits 1 at the first record that was
    modified, deleted, inserted or reordered, naming it. With a signed checkpoint, also catches
    a record rewritten together with every hash after it. Then checks that the graph still
    holds what the records project to (a sample, or all with --full): exits 1 naming what is
    missing, e.g. a prim or a run's input deleted through raw Cypher."""
    import json

    from lineage_graph.ingest.projection import check_projection
    from lineage_graph.ledger.checkpoints import verify_checkpoint
    from lineage_graph.ledger.verify import verify_ledger

    if (checkpoint is None) != (public_key is None):
        raise fail("--checkpoint and --public-key go together")
    settings = load_settings()
    try:
        ensure_neo4j(settings)
        with open_database(settings) as db:
            if checkpoint is not None and public_key is not None:
                report = verify_checkpoint(db, json.loads(checkpoint.read_text()), public_key)
            else:
                report = verify_ledger(db)
            projection = check_projection(db, full=full, sample=sample) if report.ok else None
    except (LineageGraphError, OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    if not report.ok:
        console.print(f"[red]ledger broken[/red] at record {report.first_bad_sequence} "
                      f"({report.checked} verified before it): {report.reason}",
                      highlight=False)
        raise typer.Exit(code=1)
    out.print(f"ledger ok: {report.checked} records, chain intact", highlight=False)
    assert projection is not None
    scope = "every record" if full else f"a sample of {projection.checked} records"
    if projection.ok:
        out.print(f"graph ok: it holds the projection of {scope}", highlight=False)
        return
    console.print(f"[red]graph differs from the record[/red] ({scope} checked):",
                  highlight=False)
    for seq, what in projection.missing[:20]:
        console.print(f"  record {seq}: missing {what}", highlight=False, markup=False)
    raise typer.Exit(code=1)


@ledger_app.command("keygen")
def ledger_keygen(
    private_key: Annotated[Path, typer.Option(help="Where to write the private key (PEM, 0600).")],
    public_key: Annotated[Path, typer.Option(help="Where to write the public key (PEM).")],
) -> None:
    """Make an Ed25519 key pair for signing checkpoints. Keep the private key off the database
    host if you can; share the public key with whoever checks."""
    from lineage_graph.ledger.checkpoints import generate_keypair

    try:
        generate_keypair(private_key, public_key)
    except FileExistsError as exc:
        raise fail(f"{private_key} exists: not overwriting a key") from exc
    out.print(f"wrote {private_key} and {public_key}", highlight=False)


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    key: Annotated[Path, typer.Option(help="The Ed25519 private key (PEM).")],
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Also write the checkpoint JSON here.")] = None,
) -> None:
    """Sign the current head of the event record and print the checkpoint (JSON). Keep it
    somewhere else; run periodically, e.g. from cron."""
    import json

    from lineage_graph.ledger.checkpoints import make_checkpoint

    settings = load_settings()
    try:
        ensure_neo4j(settings)
        with open_database(settings) as db:
            checkpoint = make_checkpoint(db, key)
    except (LineageGraphError, OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    text = json.dumps(checkpoint, indent=2)
    if out_file is not None:
        out_file.write_text(text + "\n")
    out.print(text, highlight=False)


# -- apikey --------------------------------------------------------------------------------------


def _keys(settings: Settings):  # type: ignore[no-untyped-def]
    from lineage_graph.auth.keys import ApiKeyService

    ensure_neo4j(settings)
    return ApiKeyService(open_database(settings))


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. airflow-prod.")],
    scope: Annotated[list[str], typer.Option(
        help="ingest (POST events, scenes, labels), read (queries), admin (everything); "
             "repeat for several.")],
) -> None:
    """Create a key and print it ONCE: only its hash is stored."""
    settings = load_settings()
    keys = _keys(settings)
    record, key = keys.create(name, scope)
    console.print(f"created key {record['keyId']} ({name}, scopes: {', '.join(record['scopes'])})"
                  "; it is shown once, store it now:", highlight=False)
    out.print(key, highlight=False)


@apikey_app.command("list")
def apikey_list() -> None:
    """Keys with their id, name, scopes, creation time and revocation (never the key)."""
    settings = load_settings()
    rows = _keys(settings).list()
    for row in rows:
        state = f"revoked {row['revokedAt']}" if row.get("revokedAt") else "active"
        out.print(f"{row['keyId']}  {row['name']}  {','.join(row['scopes'])}  "
                  f"created {row['createdAt']}  {state}", highlight=False)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key id (see list).")]) -> None:
    """Revoke a key: refused from then on (within a few seconds on running APIs)."""
    settings = load_settings()
    row = _keys(settings).revoke(key_id)
    out.print(f"revoked {row['keyId']} ({row['name']})", highlight=False)


# -- model -------------------------------------------------------------------------------------


@model_app.command("fingerprint")
def model_fingerprint(
    path: Annotated[Path, typer.Argument(
        help="A .safetensors file, a directory of .safetensors shards, or any other file "
             "(fingerprinted by its bytes).")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON (digest, format, sizeBytes, tensors).")] = False,
) -> None:
    """Print the model's digest (independent of tensor order and metadata) and one digest per
    tensor. Put the digest in the mlModel facet's `digest` and the tensor digests in its
    `tensors`, so modelOrigin can trace fine-tunes to their base."""
    import json

    from lineage_graph.ml.fingerprint import fingerprint, model_files

    total = sum(f.stat().st_size for f in model_files(path))
    with progress_bar(transient=True) as progress:
        task = progress.add_task("hashing", total=total)
        found = fingerprint(path, progress=lambda n: progress.advance(task, n))
    if as_json:
        out.print_json(json.dumps(found.as_json()))
        return
    out.print(f"{found.digest}  {found.format}  {found.size_bytes} bytes  "
              f"{len(found.tensors)} tensors", highlight=False)
    for tensor in found.tensors:
        shape = "x".join(str(d) for d in tensor.shape) or "scalar"
        out.print(f"{tensor.digest}  {tensor.dtype:<5} {shape:<16} {tensor.name}",
                  highlight=False)


# -- api -----------------------------------------------------------------------------------------


@api_app.command("export")
def api_export(
    directory: Annotated[Path, typer.Option(help="Where to write the contract files.")] = Path(
        "api"),
) -> None:
    """Write api/schema.graphql, api/openapi.json, schema/scene-document.schema.json, and from
    the graph model schema/constraints.cypher and the reference in docs/graph-model.md."""
    from lineage_graph.contract import graphql_sdl, openapi_json
    from lineage_graph.graph_schema import constraints_cypher, with_reference
    from lineage_graph.usd.document import scene_document_json_schema

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "schema.graphql").write_text(graphql_sdl(), encoding="utf-8")
    (directory / "openapi.json").write_text(openapi_json(), encoding="utf-8")
    root = directory.parent
    written = [directory / "schema.graphql", directory / "openapi.json",
               root / "schema" / "scene-document.schema.json",
               root / "schema" / "constraints.cypher", root / "docs" / "graph-model.md"]
    missing = [path.parent for path in written[2:] if not path.parent.is_dir()]
    if missing:
        raise typer.BadParameter(f"{missing[0]} is missing: run this from a checkout (the "
                                 "files it regenerates live there)", param_hint="--directory")
    written[2].write_text(scene_document_json_schema(), encoding="utf-8")
    written[3].write_text(constraints_cypher(), encoding="utf-8")
    doc = written[4]
    doc.write_text(with_reference(doc.read_text(encoding="utf-8")), encoding="utf-8")
    out.print("wrote " + ", ".join(str(path) for path in written))


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


