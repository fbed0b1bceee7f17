"""Models: model versions from the mlModel facet (fingerprints and evaluations: not yet)."""
