"""`lineage-graph demo`: a physical-AI pipeline with a planted regression, built through the
platform's real APIs, and the forensic answer."""
