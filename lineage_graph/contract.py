"""The API contract as text: GraphQL SDL and OpenAPI JSON, exported to api/ and checked by a
test so the files cannot drift from the code."""

from __future__ import annotations

import json

from lineage_graph.graphql.schema import schema
from lineage_graph.web.app import create_app


def graphql_sdl() -> str:
    return schema.as_str() + "\n"


def openapi_json() -> str:
    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
