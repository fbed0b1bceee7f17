"""Models: model versions (mlModel facet), fingerprints, origin by shared tensors, metrics."""
