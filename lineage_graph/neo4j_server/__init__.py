"""The managed local Neo4j Community server (jars from Maven Central, no Docker needed)."""

from lineage_graph.neo4j_server.disk import DiskUsage, managed_disk_usage
from lineage_graph.neo4j_server.manager import ManagedNeo4j, ServerStatus

__all__ = ["DiskUsage", "ManagedNeo4j", "ServerStatus", "managed_disk_usage"]
