"""``lineage-graph import mlflow|dvc``: read another lineage source and send it through the
normal ingest path (docs/importers.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
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

import_app = typer.Typer(help="Import lineage from MLflow and DVC as OpenLineage events.",
                         no_args_is_help=True)

ApiOption = Annotated[str | None, typer.Option(
    help="Send the events to this lineage-graph API (e.g. http://host:5000) instead of "
         "writing to Neo4j directly.")]
ApiKeyOption = Annotated[str | None, typer.Option(
    help="API key for --api when it requires one (default: $LINEAGE_GRAPH_API_KEY).")]
DryRunOption = Annotated[bool, typer.Option(
    help="Read and map, print how many events would be sent, send nothing.")]
NamespaceOption = Annotated[str | None, typer.Option(
    help="OpenLineage namespace of the imported jobs (mlflow: 'mlflow'; dvc: "
         "'dvc://<repository folder name>').")]


@import_app.command("mlflow")
def import_mlflow(
    tracking_uri: Annotated[str, typer.Option(
        help="MLflow tracking server or store: http(s)://host:5000, sqlite:///mlflow.db, "
             "file:///path/mlruns (default: $MLFLOW_TRACKING_URI).")] = "",
    experiment: Annotated[list[str] | None, typer.Option(
        help="Import only this experiment (by name); repeatable. Default: every active one.")
    ] = None,
    since: Annotated[str | None, typer.Option(
        help="Only runs started, ended, still running or whose model versions changed at or "
             "after this time: ISO 8601 (2026-11-01) or an age (12h, 7d).")] = None,
    namespace: NamespaceOption = None,
    job_name: Annotated[str, typer.Option(
        help="Job name template; fields {experiment} {run_name} {source_name} "
             "{experiment_id}.")] = "{experiment}/{run_name}",
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import MLflow runs (params, tags, dataset inputs, metrics), logged models and registered
    model versions as OpenLineage events with mlModel and evaluation facets.

    Re-importing changes nothing; a run that changed since is updated.
    """
    from lineage_graph.importers.mlflow_events import DEFAULT_NAMESPACE, mlflow_events
    from lineage_graph.importers.mlflow_reader import read_mlflow
    from lineage_graph.importers.since import parse_since

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        raise fail("give --tracking-uri (or set MLFLOW_TRACKING_URI)")
    moment = None if since is None else parse_since(since)
    with progress_bar(transient=True) as progress:
        task = progress.add_task("reading MLflow", total=None)
        snapshot = read_mlflow(uri, experiment or [], moment, progress=lambda what:
                               progress.update(task, description=f"reading {what}"))
    events = mlflow_events(snapshot, namespace or DEFAULT_NAMESPACE, job_name)
    out.print(f"read {len(snapshot.runs)} MLflow runs and {len(snapshot.model_versions)} "
              f"registered model versions: {len(events)} events", highlight=False)
    for warning in snapshot.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}", highlight=False, soft_wrap=True)
    _send(events, api, api_key, dry_run)


@import_app.command("dvc")
def import_dvc(
    path: Annotated[Path, typer.Argument(help="The DVC repository (its root folder).",
                                         exists=True, file_okay=False)] = Path("."),
    rev: Annotated[list[str] | None, typer.Option(
        help="Import the pipeline as committed at this git revision; repeatable, oldest first. "
             "Default: the working tree.")] = None,
    namespace: NamespaceOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import a DVC pipeline (dvc.yaml and dvc.lock): stages as jobs, each lock state as a run,
    deps and outs as datasets versioned by their DVC hashes, params as a run facet.

    Re-importing changes nothing; a revision whose lock changed adds runs and versions.
    """
    from lineage_graph.importers.dvc_events import default_namespace, dvc_events
    from lineage_graph.importers.dvc_reader import read_dvc

    with progress_bar(transient=True) as progress:
        task = progress.add_task("reading DVC", total=None)
        states = read_dvc(path, rev or [], progress=lambda what:
                          progress.update(task, description=f"reading {what}"))
    events = dvc_events(states, namespace or default_namespace(path.resolve().name))
    stages = sum(len(state.stages) for state in states)
    out.print(f"read {len(states)} pipeline states ({stages} locked stages): "
              f"{len(events)} events", highlight=False)
    _send(events, api, api_key, dry_run)


def _send(events: list[dict[str, Any]], api: str | None, api_key: str | None,
          dry_run: bool) -> None:
    from lineage_graph.importers.sink import ApiSink, EventSink, ImportTotals, LocalSink

    if dry_run or not events:
        return
    settings = load_settings()

    def send(sink: EventSink) -> ImportTotals:
        with progress_bar() as progress:
            task = progress.add_task("ingesting", total=len(events))
            advance: Callable[[int], None] = lambda n: progress.advance(task, n)  # noqa: E731
            return sink.send(events, advance)

    if api is not None:
        key = api_key or os.environ.get("LINEAGE_GRAPH_API_KEY")
        totals = send(ApiSink(api, key, settings.write_chunk_events))
    else:
        from lineage_graph.db.migrations import migrate
        from lineage_graph.ingest.plan_refresh import WritePlanRefresher
        from lineage_graph.ingest.service import IngestService
        from lineage_graph.process_tuning import tune_process

        ensure_neo4j(settings)
        with open_database(settings) as db:
            migrate(db)
            tune_process(settings)  # a long-running process from here
            with WritePlanRefresher.for_command(db):
                totals = send(LocalSink(IngestService(db, settings.write_chunk_events)))
    for line in totals.rejections:
        console.print(f"[yellow]rejected[/yellow] {line}", highlight=False, soft_wrap=True)
    out.print(totals.summary(), highlight=False)
    if totals.rejected:
        raise typer.Exit(code=1)
