"""What the managed Neo4j occupies on disk: its store and its transaction logs, apart (the logs
are kept by size, LINEAGE_GRAPH_NEO4J_TX_LOG_RETENTION, and can dwarf the store)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lineage_graph.settings import Settings


@dataclass(frozen=True)
class DiskUsage:
    store_bytes: int
    transaction_log_bytes: int


def managed_disk_usage(settings: Settings) -> DiskUsage | None:
    """The managed instance's database files; None for a server this project does not manage
    (NEO4J_URI): its files are not on this machine, or not ours to read."""
    if not settings.managed:
        return None
    data = settings.instance_dir / "data"
    return DiskUsage(store_bytes=_folder_size(data / "databases" / settings.neo4j_database),
                     transaction_log_bytes=_folder_size(
                         data / "transactions" / settings.neo4j_database))


def _folder_size(path: Path) -> int:
    total = 0
    for file in path.rglob("*"):
        try:
            if file.is_file():
                total += file.stat().st_size
        except OSError:  # rotated or removed by Neo4j meanwhile
            continue
    return total
