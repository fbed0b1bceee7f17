"""`lineage-graph stats`: what the lineage costs to keep (docs/costs.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from lineage_graph.cli.common import ensure_neo4j, fail, load_settings, open_database, out


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    days: Annotated[int, typer.Option(help="Records received on each of the last N days.")] = 7,
) -> None:
    """Nodes and relationships by kind, the record's size, the store and transaction logs on
    disk (managed Neo4j), sizes per record, prim and label, records per day, and the budgets.
    Reads every record once (the record's size)."""
    from lineage_graph.usage.service import UsageService

    if days < 1:
        raise fail("--days must be at least 1")
    settings = load_settings()
    ensure_neo4j(settings, quiet=True)
    with open_database(settings) as db:
        found = UsageService(db, settings).stats(days).as_dict()
    if as_json:
        out.print(json.dumps(found), highlight=False, markup=False, soft_wrap=True)
        return
    for line in _report(found):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


def _report(found: dict[str, Any]) -> list[str]:
    def size(value: float | None) -> str:
        return "unknown (not a managed Neo4j)" if value is None else f"{value:,.0f} bytes"

    def ratio(value: float | None) -> str:  # None: nothing to divide by, or no store size
        return "n/a" if value is None else f"{value:,.0f} bytes"

    lines = [f"nodes: {found['nodes']:,}   relationships: {found['relationships']:,}",
             f"records: {found['records']:,} ({size(found['recordBytes'])} as received)",
             f"store on disk: {size(found['storeBytes'])}   transaction logs: "
             f"{size(found['transactionLogBytes'])}",
             f"per record: {ratio(found['bytesPerRecord'])} as received, "
             f"{ratio(found['storeBytesPerRecord'])} of store",
             f"store per prim: {ratio(found['storeBytesPerPrim'])}   store per label: "
             f"{ratio(found['storeBytesPerLabel'])}",
             "records received per day: " + ", ".join(
                 f"{d['day']} {d['records']:,}" for d in found["recordsPerDay"]),
             "nodes by label: " + ", ".join(
                 f"{k} {v:,}" for k, v in found["nodesByLabel"].items()),
             "relationships by type: " + ", ".join(
                 f"{k} {v:,}" for k, v in found["relationshipsByType"].items())]
    budgets = {k: v for k, v in found["budgets"].items() if v is not None}
    lines.append("budgets: " + (", ".join(f"{k} {v:,}" for k, v in budgets.items())
                                if budgets else "none set"))
    lines += [f"over budget: {sentence}" for sentence in found["exceeded"].values()]
    return lines
