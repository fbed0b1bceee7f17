"""`lineage-graph kafka`: the managed local Kafka broker (up, down, status)."""

from __future__ import annotations

import typer

from lineage_graph.cli.common import load_settings, out

kafka_app = typer.Typer(
    help="Manage a local Apache Kafka broker (KRaft, no Docker) for trying `consume`.",
    no_args_is_help=True)


@kafka_app.command("up")
def kafka_up() -> None:
    """Download (once), configure, format and start the managed broker; print its bootstrap
    servers. Idempotent. Plaintext on loopback, one replica: for development and tests."""
    from lineage_graph.kafka_broker import ManagedKafka

    out.print(ManagedKafka(load_settings()).up().bootstrap_servers)


@kafka_app.command("down")
def kafka_down() -> None:
    """Stop the managed broker cleanly."""
    from lineage_graph.kafka_broker import ManagedKafka

    out.print("stopped" if ManagedKafka(load_settings()).down() else "not running")


@kafka_app.command("status")
def kafka_status() -> None:
    """Say whether the managed broker runs, where, and where its log is (exit 3: stopped)."""
    from lineage_graph.kafka_broker import ManagedKafka

    status = ManagedKafka(load_settings()).status()
    out.print(f"{'running' if status.running else 'stopped'}  "
              f"bootstrap-servers={status.bootstrap_servers}  pid={status.pid or '-'}",
              highlight=False)
    out.print(f"log: {status.log}", highlight=False)
    if not status.running:
        raise typer.Exit(code=3)
