"""OpenLineage ingestion: write plans and the ingest service."""
