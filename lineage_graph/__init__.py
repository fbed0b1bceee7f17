"""lineage-graph: lineage for ML and physical-AI teams, stored as a property graph in Neo4j."""

__version__ = "0.1.0"
PRODUCER = "https://github.com/lineage-graph/lineage-graph/tree/v0.1.0"
