"""Forensic questions: what changed upstream of a model that regressed, what a node impacts,
how two lineages or two scene variants differ."""
