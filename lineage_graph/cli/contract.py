"""`lineage-graph api`: regenerate the API contract files (api/, schema/, docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage_graph.cli.common import out

api_app = typer.Typer(help="The API contract files in api/.", no_args_is_help=True)


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
