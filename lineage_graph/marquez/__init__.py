"""Marquez compatibility: its read API's resources in its response shapes, answered from the
lineage graph (docs/api.md#marquez-compatible-read-api)."""
