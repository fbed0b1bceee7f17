"""The Cypher that names what a node is, made from the one table of node kinds
(lineage_graph.graph_model.NODE_KINDS)."""

from __future__ import annotations

from typing import LiteralString

from lineage_graph.graph_model import NODE_KINDS


def kind_of(var: LiteralString) -> LiteralString:
    """``CASE WHEN <var>:Dataset THEN 'DATASET' ... END``: the kind of the node ``var``. The
    labels and kinds are constants of the model, never input."""
    whens = " ".join(f"WHEN {var}:{label} THEN '{kind}'" for label, kind in NODE_KINDS)
    return f"CASE {whens} END"
