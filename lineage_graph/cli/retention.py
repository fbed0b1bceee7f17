"""`lineage-graph retention`: prune old runs, their facets and the text of their records,
keeping the ledger verifiable (docs/costs.md#retention)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lineage_graph.cli.common import ensure_neo4j, load_settings, open_database, out, progress_bar

retention_app = typer.Typer(help="Retention: prune old runs (docs/costs.md#retention).",
                            no_args_is_help=True)


@retention_app.command("apply")
def retention_apply(
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Runs whose last event is older than this: 90d, 12h, 2w.")],
    keep_runs_per_job: Annotated[int, typer.Option(
        "--keep-runs-per-job", help="Keep each job's N latest runs whatever their age.")] = 0,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print what would go and the bytes saved; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Remove runs that ended before the cutoff (past each job's latest N), with their facets
    and the text of their records. Jobs, datasets, dataset versions and model versions stay,
    as do runs that trained or evaluated a model version; every record keeps its place in the
    hash chain, and the pruning is itself recorded."""
    from lineage_graph.usage.retention import apply_retention, parse_age

    age = parse_age(older_than)
    settings = load_settings()
    ensure_neo4j(settings, quiet=True)
    with open_database(settings) as db, progress_bar(transient=True) as bar:
        task = bar.add_task("pruning runs", total=None)
        report = apply_retention(db, age, keep_runs_per_job, dry_run=dry_run,
                                 on_progress=lambda done, total: bar.update(
                                     task, completed=done, total=total))
    if as_json:
        out.print(json.dumps(report.as_dict()), highlight=False, markup=False)
        return
    verb = "would remove" if dry_run else "removed"
    out.print(f"{verb} {report.runs} runs (ended before {report.cutoff}, past each job's "
              f"{report.keep_runs_per_job} latest), {report.facets} facets and the text of "
              f"{report.records} records: {report.bytes:,} bytes", highlight=False)
