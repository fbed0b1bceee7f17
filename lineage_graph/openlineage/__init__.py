"""OpenLineage: typed event and facet models, validation and parsing."""
