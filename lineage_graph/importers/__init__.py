"""Importers: read another lineage source (an MLflow tracking store, a DVC repository) and send
what it holds through the normal ingest path as OpenLineage events, so it lands in the record
and the hash chain like any emitter's events (docs/importers.md).

Each importer is two modules: a *reader* that is the only place touching the source's own
package (``mlflow``, ``dvc``; optional extras) and returns plain snapshots, and a pure *mapping*
from snapshots to OpenLineage events. Events are deterministic functions of the snapshot (ids
derived, times taken from the source), so re-importing an unchanged source sends the same events
and the ingest path answers ``duplicate`` for each.
"""

from lineage_graph.importers.sink import ApiSink, EventSink, ImportTotals, LocalSink

__all__ = ["ApiSink", "EventSink", "ImportTotals", "LocalSink"]
