"""Labeling: versioned labeling schemas (sessions and labels are not built yet)."""
