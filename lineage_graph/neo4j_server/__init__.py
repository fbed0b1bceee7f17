"""The managed local Neo4j Community server (jars from Maven Central, no Docker needed)."""

from lineage_graph.neo4j_server.manager import ManagedNeo4j, ServerStatus

__all__ = ["ManagedNeo4j", "ServerStatus"]
