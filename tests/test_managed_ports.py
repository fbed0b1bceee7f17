"""A managed Neo4j whose port another process holds is refused before anything is downloaded,
written or started, naming the port and the setting that moves it (Neo4j itself exits at
start-up with an empty console when its HTTP port is taken)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lineage_graph.errors import ManagedNeo4jError
from lineage_graph.neo4j_server.manager import ManagedNeo4j
from lineage_graph.settings import Settings
from tests.serving import free_port


@pytest.mark.parametrize("connector", ["BOLT", "HTTP"])
def test_a_taken_port_is_named_before_anything_starts(tmp_path: Path, connector: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = int(holder.getsockname()[1])
        bolt, http = (taken, free_port()) if connector == "BOLT" else (free_port(), taken)
        server = ManagedNeo4j(Settings(home=tmp_path, instance="ports", bolt_port=bolt,
                                       http_port=http))
        with pytest.raises(ManagedNeo4jError,
                           match=f"port {taken} is taken by another process; set "
                                 f"LINEAGE_GRAPH_NEO4J_{connector}_PORT to a free port"):
            server.up(progress=False)
    assert not (tmp_path / "neo4j").exists()  # no jars fetched
    assert not server.console_log.exists()  # nothing started
