"""The ``lineage-graph`` command line: ``app`` holds the sub-commands, ``common`` what they
share, ``importers`` the ``import`` sub-commands."""

from lineage_graph.cli.app import app, main

__all__ = ["app", "main"]
