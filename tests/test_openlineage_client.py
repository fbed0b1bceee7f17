"""openlineage-python's own HttpTransport emits against the running API, unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run, schema_dataset, sql_job
from openlineage.client.transport.http import HttpCompression, HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

from lineage_graph.db.connection import Database
from tests.conftest import query


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
