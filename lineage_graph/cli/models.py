"""`lineage-graph model`: fingerprints of model files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage_graph.cli.common import out, progress_bar

model_app = typer.Typer(help="Model files: fingerprints that survive reordering and metadata.",
                        no_args_is_help=True)


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
