"""Locate the files of the top-level ``schema/`` folder, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def schema_dir() -> Path:
    """``schema/`` of the checkout (editable install) or ``lineage_graph/_schema`` (wheel)."""
    for candidate in (_PACKAGE_DIR / "_schema", _PACKAGE_DIR.parent / "schema"):
        if (candidate / "constraints.cypher").is_file():
            return candidate
    raise FileNotFoundError("lineage-graph's schema/ folder is missing from this installation")


def cypher_statements(text: str) -> list[str]:
    """Split a .cypher file into statements, dropping // comment lines."""
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//"))
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]
