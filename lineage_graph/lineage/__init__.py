"""Read side: node lookups, lineage traversal and search."""
