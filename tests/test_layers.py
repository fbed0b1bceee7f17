"""Imports point down: the layer order written once, in docs/development.md, holds for every
module of lineage_graph (lazy imports inside functions included)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lineage_graph"


def _layers() -> dict[str, int]:
    """Package -> layer index (0 is the top) from the ```layers block of development.md."""
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/development.md has no ```layers block"
    return {name: depth for depth, line in enumerate(block.group(1).splitlines())
            for name in line.split()}


def _package_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(path: Path) -> set[str]:
    """The lineage_graph packages a module imports (``lineage_graph.X...`` -> X)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {n.split(".")[1] for n in names
                  if n.startswith("lineage_graph.") and len(n.split(".")) > 1}
    return found


def test_every_import_points_down() -> None:
    layers = _layers()
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue  # the package root: the version and PRODUCER, imported by everyone
        own = _package_of(path)
        assert own in layers, f"{own} is not in docs/development.md's layers"
        for target in _imports(path) - {own}:
            assert target in layers, f"{target} is not in docs/development.md's layers"
            if layers[target] <= layers[own]:
                wrong.append(f"{path.relative_to(ROOT)} ({own}, layer {layers[own]}) imports "
                             f"{target} (layer {layers[target]})")
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The test above can fail: an import of web from db is caught."""
    module = tmp_path / "bad.py"
    module.write_text("from lineage_graph.web.app import create_app\n"
                      "def f():\n    import lineage_graph.graphql.schema\n")
    assert _imports(module) == {"web", "graphql"}
    layers = _layers()
    assert layers["web"] < layers["db"] and layers["graphql"] < layers["db"]
