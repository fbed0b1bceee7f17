"""openlineage-python's own HttpTransport emits against the running API, unchanged."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run, schema_dataset, sql_job
from openlineage.client.transport.http import HttpCompression, HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

from lineage_graph.db.connection import Database
from tests.conftest import query


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def api_url(db: Database, neo4j_server: Any) -> Iterator[str]:
    from lineage_graph.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(replace(neo4j_server)), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("compression", [None, HttpCompression.GZIP])
def test_http_transport_emits_run_events(
    api_url: str, db: Database, compression: HttpCompression | None
) -> None:
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=api_url,
                                                                  compression=compression)))
    parent_id = str(generate_new_uuid())
    run_id = str(generate_new_uuid())
    job = Job(namespace="airflow", name="render_frames",
              facets={"sql": sql_job.SQLJobFacet(query="SELECT 1")})
    run = Run(runId=run_id, facets={"parent": parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent_id),
        job=parent_run.Job(namespace="airflow", name="nightly"))})
    inputs = [InputDataset(namespace="s3://scenes", name="warehouse.usda")]
    outputs = [OutputDataset(namespace="s3://frames", name="warehouse/v1", facets={
        "schema": schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name="frame", type="BINARY")])})]
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(RunEvent(eventType=state, eventTime=datetime.now(UTC).isoformat(), run=run,
                             job=job, inputs=inputs, outputs=outputs,
                             producer="https://example.com/render"))
    [row] = query(db, """
        MATCH (j:Job {name: 'render_frames'})-[:HAS_RUN]->(r:Run {runId: $id})-[:CHILD_OF]->(p)
        MATCH (r)-[:WROTE]->(d:Dataset)-[:HAS_FIELD]->(f)
        RETURN r.state AS state, p.runId AS parent, j.sql AS sql, d.name AS out, f.name AS field
    """, id=run_id)
    assert row == {"state": "COMPLETE", "parent": parent_id, "sql": "SELECT 1",
                   "out": "warehouse/v1", "field": "frame"}
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 2}]
