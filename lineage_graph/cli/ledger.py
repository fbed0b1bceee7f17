"""`lineage-graph ledger`: verify the record's hash chain, sign checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage_graph.cli.common import console, ensure_neo4j, fail, load_settings, open_database, out
from lineage_graph.errors import LineageGraphError

ledger_app = typer.Typer(help="The event record as a tamper-evident hash chain.",
                         no_args_is_help=True)


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
    pruned = f" ({report.pruned} pruned by retention)" if report.pruned else ""
    out.print(f"ledger ok: {report.checked} records{pruned}, chain intact", highlight=False)
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
