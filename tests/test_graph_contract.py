"""The graph model (lineage_graph/graph_model.py) is a contract the database keeps: after the
demo (events, scenes, labeling sessions, models, evaluations, API calls), every node's labels
are one declared class's labels, every property it holds is declared on that class, and every
relationship is declared from its start label to its end label with its properties."""

from __future__ import annotations

from typing import Any

from lineage_graph.graph_model import (
    NODE_MODELS,
    labels_of,
    properties_of,
    relationship_declarations,
)
from tests.conftest import DemoGraph, query


def _declared_nodes() -> dict[frozenset[str], tuple[str, set[str]]]:
    return {labels_of(model): (model.__label__, set(properties_of(model)))
            for model in NODE_MODELS}


def test_every_node_is_a_declared_class_with_declared_properties(demo_graph: DemoGraph) -> None:
    declared = _declared_nodes()
    found = query(demo_graph.db, """
        MATCH (n) UNWIND CASE size(keys(n)) WHEN 0 THEN [null] ELSE keys(n) END AS key
        RETURN labels(n) AS labels, collect(DISTINCT key) AS keys, count(*) AS n""")
    assert len(found) >= 20, "the demo graph should exercise most of the model"
    undeclared: list[str] = []
    for row in found:
        labels = frozenset(row["labels"])
        if labels not in declared:
            undeclared.append(f"labels {sorted(labels)}")
            continue
        name, props = declared[labels]
        undeclared += [f"{name}.{key}" for key in row["keys"] if key not in props]
    assert undeclared == [], "\n".join(undeclared)


def test_every_relationship_is_declared_with_its_properties(demo_graph: DemoGraph) -> None:
    declared_nodes = _declared_nodes()
    declared: dict[tuple[str, str, str], set[str]] = {
        (rel.type, rel.start, rel.end): set(rel.properties)
        for rel in relationship_declarations()}
    found: list[dict[str, Any]] = query(demo_graph.db, """
        MATCH (a)-[r]->(b)
        UNWIND CASE size(keys(r)) WHEN 0 THEN [null] ELSE keys(r) END AS key
        RETURN type(r) AS type, labels(a) AS start, labels(b) AS end,
               collect(DISTINCT key) AS keys""")
    assert len({row["type"] for row in found}) >= 25
    undeclared: list[str] = []
    for row in found:
        start = declared_nodes[frozenset(row["start"])][0]
        end = declared_nodes[frozenset(row["end"])][0]
        key = (row["type"], start, end)
        if key not in declared:
            undeclared.append(f"(:{start})-[:{row['type']}]->(:{end})")
            continue
        undeclared += [f"{row['type']}.{k}" for k in row["keys"] if k not in declared[key]]
    assert undeclared == [], "\n".join(undeclared)
