"""Neo4j access: connection, migrations and the data-access modules (all Cypher lives here)."""
