"""Contracts kept as files: the API (api/), the Docker deployment (docker/), the graph schema
(schema/) and its documentation (docs/graph-model.md) must match the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from lineage_graph.contract import graphql_sdl, openapi_json
from lineage_graph.db.migrations import schema_statements
from lineage_graph.graph_model import NODE_MODELS, RELATIONSHIP_TYPES
from lineage_graph.graph_schema import constraints_cypher, with_reference

ROOT = Path(__file__).resolve().parents[1]


def test_graphql_schema_file_matches_the_code() -> None:
    assert (ROOT / "api" / "schema.graphql").read_text() == graphql_sdl(), (
        "api/schema.graphql is stale: run `lineage-graph api export`"
    )


def test_openapi_file_matches_the_code() -> None:
    assert (ROOT / "api" / "openapi.json").read_text() == openapi_json(), (
        "api/openapi.json is stale: run `lineage-graph api export`"
    )


def test_scene_document_schema_file_matches_the_model() -> None:
    from lineage_graph.usd.document import scene_document_json_schema

    assert (ROOT / "schema" / "scene-document.schema.json").read_text() == (
        scene_document_json_schema()), "stale: run `lineage-graph api export`"


def test_openapi_has_the_openlineage_and_marquez_paths() -> None:
    import json

    paths = json.loads(openapi_json())["paths"]
    assert "post" in paths["/api/v1/lineage"] and "get" in paths["/api/v1/lineage"]
    assert "post" in paths["/api/v1/lineage/batch"]
    assert "get" in paths["/healthz"]


def test_compose_file_wires_the_api_to_neo4j() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert services["neo4j"]["image"] == "neo4j:5.26-community"
    api = services["api"]
    assert api["build"]["dockerfile"] == "docker/Dockerfile"
    assert (ROOT / "docker" / "Dockerfile").is_file()
    assert api["environment"]["NEO4J_URI"] == "bolt://neo4j:7687"
    assert "neo4j" in api["depends_on"]
    # The API's password and Neo4j's auth come from the same variable.
    assert api["environment"]["NEO4J_PASSWORD"] in services["neo4j"]["environment"]["NEO4J_AUTH"]
    assert any(str(p).endswith(":5000") for p in api["ports"])


def test_constraints_file_is_generated_from_the_model() -> None:
    assert (ROOT / "schema" / "constraints.cypher").read_text() == constraints_cypher(), (
        "schema/constraints.cypher is stale: run `lineage-graph api export`")


def test_graph_model_doc_ends_with_the_generated_reference() -> None:
    doc = (ROOT / "docs" / "graph-model.md").read_text()
    assert with_reference(doc) == doc, (
        "docs/graph-model.md's reference is stale: run `lineage-graph api export`")


def test_no_retired_name_is_one_the_model_generates() -> None:
    """extra-indexes.cypher drops names retired long ago; a property later declared indexed
    could generate one of them, and be created and dropped on every start-up."""
    generated = set(re.findall(r"CREATE (?:CONSTRAINT|INDEX) (\w+)", constraints_cypher()))
    dropped = set(re.findall(r"DROP (?:CONSTRAINT|INDEX) (\w+)",
                             (ROOT / "schema" / "extra-indexes.cypher").read_text()))
    assert dropped and not generated & dropped


def test_every_unique_key_of_the_model_has_a_constraint_in_schema() -> None:
    statements = "\n".join(schema_statements())
    for model in NODE_MODELS:
        for prop in model.unique_keys():
            pattern = rf"FOR \(n:{model.__label__}\) REQUIRE n\.{prop} IS UNIQUE"
            assert re.search(pattern, statements), f"no constraint for {model.__label__}.{prop}"


def test_graph_model_doc_names_every_label_and_relationship() -> None:
    doc = (ROOT / "docs" / "graph-model.md").read_text()
    for model in NODE_MODELS:
        assert f":{model.__label__}" in doc, model.__label__
    for rel in RELATIONSHIP_TYPES:
        assert f":{rel}" in doc, rel
