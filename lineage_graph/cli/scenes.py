"""`lineage-graph scene`: read USD scenes with pxr and store them."""

from __future__ import annotations

from dataclasses import asdict
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

scene_app = typer.Typer(help="USD scenes: read them with pxr and store them in the graph.",
                        no_args_is_help=True)


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
    prims: Annotated[str, typer.Option(
        help="full: store every prim; summary: store per-variant prim counts (by type, added, "
             "removed) and no prims (docs/usd.md#granularity). Fixed per scene version.")
    ] = "full",
) -> None:
    """Read a USD scene (layers, arcs, variant sets, prims per scene variant) and store it.

    Re-ingesting an unchanged scene changes nothing; an edited layer makes a new scene version
    and the old one stays. Missing assets are reported, recorded and never fatal.
    """
    from lineage_graph.db.migrations import migrate
    from lineage_graph.usd.diagnostics import pxr_diagnostics_to_debug_log
    from lineage_graph.usd.extract import read_scene
    from lineage_graph.usd.store import store_scene
    from lineage_graph.usd.summary import PRIM_DETAILS, SUMMARY, summarize

    if prims not in PRIM_DETAILS:
        raise fail(f"--prims {prims!r}: expected one of {', '.join(PRIM_DETAILS)}")
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
    document = doc.as_dict()
    if prims == SUMMARY:
        document = summarize(document)
    if api is not None:
        stored = _post_scene(api, document)
    else:
        ensure_neo4j(settings)
        with open_database(settings) as db, progress_bar(transient=True) as progress:
            migrate(db)
            task = progress.add_task("storing prims", total=None)
            scene = store_scene(db, document, on_progress=lambda done, total:
                                progress.update(task, completed=done, total=total))
            stored = {**asdict(scene), "warnings": scene.warnings()}
    out.print(f"scene {stored['scene_id']} version {stored['version']} "
              f"(content {stored['content_hash'][:16]}): {stored['layers']} layers, "
              f"{_prims_line(stored)}, {stored['variants']} scene variants", highlight=False)
    for missing in stored["missing_assets"]:
        console.print(f"[yellow]warning[/yellow] missing asset: {missing}", highlight=False,
                      soft_wrap=True)
    for warning in stored["warnings"]:
        console.print(f"[yellow]warning[/yellow] {warning}", highlight=False, soft_wrap=True)


def _prims_line(stored: dict[str, Any]) -> str:
    if stored["prim_detail"] == "summary":
        return "prims counted, not stored (summary)"
    return f"{stored['prims']} prims"


def _post_scene(api: str, doc: dict[str, Any]) -> dict[str, Any]:
    import os

    from lineage_graph.client import LineageGraphClient

    with LineageGraphClient(api, os.environ.get("LINEAGE_GRAPH_API_KEY")) as client:
        body = client.post_scene(doc)
    return {"scene_id": body["sceneId"], "version": body["version"],
            "content_hash": body["contentHash"], "layers": body["layers"],
            "prims": body["prims"], "prim_detail": body.get("primDetail", "full"),
            "variants": body["variants"],
            "missing_assets": body["missingAssets"], "warnings": body.get("warnings", [])}
