"""`lineage-graph spool`: events accepted while Neo4j was unreachable."""

from __future__ import annotations

from typing import Annotated

import typer

from lineage_graph.cli.common import ensure_neo4j, load_settings, open_database, out, progress_bar

spool_app = typer.Typer(help="The durable spool of events accepted while Neo4j was unreachable.",
                        no_args_is_help=True)


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
    from lineage_graph.ingest.plan_refresh import WritePlanRefresher
    from lineage_graph.ingest.service import IngestService
    from lineage_graph.ingest.spool import Spool
    from lineage_graph.process_tuning import tune_process

    settings = load_settings()
    spool = Spool(settings.spool_dir)
    ensure_neo4j(settings)
    with open_database(settings) as db:
        durable = DurableIngest(IngestService(db, settings.write_chunk_events), spool, db)
        tune_process(settings)  # a long-running process from here
        with progress_bar() as progress, WritePlanRefresher.for_command(db):
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
