"""All Cypher that reads model versions."""

from __future__ import annotations

from typing import LiteralString

MODEL_VERSION: LiteralString = """
MATCH (m:ModelVersion {name: $name, version: $version})
RETURN m {.*} AS node
"""

MODEL_VERSIONS: LiteralString = """
MATCH (m:ModelVersion)
RETURN m {.*} AS node
ORDER BY m.name, m.version
LIMIT $limit
"""

TRAINED_BY: LiteralString = """
MATCH (r:Run)-[:TRAINED]->(:ModelVersion {nodeId: $nodeId})
RETURN r {.*, kind: 'RUN'} AS node
LIMIT 1
"""

DERIVED_FROM: LiteralString = """
MATCH (:ModelVersion {nodeId: $nodeId})-[:DERIVED_FROM_MODEL]->(base:ModelVersion)
RETURN base {.*} AS node
ORDER BY base.name, base.version
"""
