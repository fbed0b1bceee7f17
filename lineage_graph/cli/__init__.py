"""The ``lineage-graph`` command line: ``app`` holds the root commands and ``main()``, one
module per sub-app (``neo4j_server``, ``database``, ``contract``, ``scenes``, ``models``,
``spool``, ``ledger``, ``apikeys``, ``importers``), ``common`` what they share."""

from lineage_graph.cli.app import app, main

__all__ = ["app", "main"]
