"""End to end: labeling schema -> labeling session -> labels -> training -> evaluation.

Run it against a running lineage-graph (``lineage-graph serve``)::

    python docs/examples/labeling_to_evaluation.py --url http://127.0.0.1:5000

It uses the GraphQL API for labeling, the OpenLineage Python client (HTTP transport, the same
one Airflow/Spark/dbt integrations use) for runs, and lineage-graph's emitter facets for the
model and its evaluation. tests/test_docs_examples.py runs it, so this page cannot rot.
"""

from __future__ import annotations

import argparse
import json
import struct
import tempfile
import uuid
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import HttpConfig, HttpTransport

from lineage_graph.emitter_facets import SliceMetric, evaluation_facet, ml_model_facet

PRODUCER = "https://example.com/physical-ai/pipeline"
FRAMES = ("s3://frames", "warehouse/night")
NIGHT = {"layout": "aisle_wide", "lighting": "night"}
DAY = {"layout": "aisle_wide", "lighting": "day"}


def graphql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                      timeout=30).json()
    if "errors" in body:
        raise SystemExit(f"GraphQL error: {body['errors'][0]['message']}")
    data: dict[str, Any] = body["data"]
    return data


def write_model(path: Path, weights: dict[str, list[float]]) -> None:
    """A stand-in for your trainer's output: a float32 safetensors file."""
    header: dict[str, Any] = {}
    data = b""
    for name, values in weights.items():
        raw = array("f", values).tobytes()
        header[name] = {"dtype": "F32", "shape": [len(values)],
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)


def run_events(client: OpenLineageClient, job: str, start: datetime,
               inputs: list[InputDataset], outputs: list[OutputDataset],
               run_facets: dict[str, Any] | None = None) -> str:
    run_id = str(uuid.uuid4())
    for state, at in ((RunState.START, start), (RunState.COMPLETE, start + timedelta(hours=1))):
        client.emit(RunEvent(eventType=state, eventTime=at.isoformat(),
                             run=Run(runId=run_id, facets=run_facets or {}),
                             job=Job(namespace="physical-ai", name=job), producer=PRODUCER,
                             inputs=inputs, outputs=outputs))
    return run_id


def main(url: str, workdir: Path) -> dict[str, Any]:
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=url)))
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    # 1. A labeling schema (version 1) and a session that labels the rendered frames.
    schema = graphql(url, """mutation($input: LabelingSchemaInput!) {
        createLabelingSchema(input: $input) { id version } }""", input={
        "name": "pallet_visible", "type": "EXPECTATION", "title": "Is a pallet visible?",
        "input": {"kind": "CATEGORICAL", "options": ["yes", "no", "occluded"]},
        "enableComment": True})["createLabelingSchema"]
    session = graphql(url, """mutation($input: LabelingSessionInput!) {
        createLabelingSession(input: $input) { id labelsDataset { namespace name } } }""",
        input={"name": "warehouse night review", "schemas": [{"name": "pallet_visible"}],
               "dataset": {"namespace": FRAMES[0], "name": FRAMES[1]},
               "assignedUsers": ["ana", "raj"]})["createLabelingSession"]

    # 2. Labels: checked against the schema version; one call = one labels dataset version.
    added = graphql(url, """mutation($id: ID!, $labels: [LabelInput!]!) {
        addLabels(sessionId: $id, labels: $labels) { added datasetVersion } }""",
        id=session["id"], labels=[
            {"itemId": "frame-0001", "schema": "pallet_visible", "value": "yes",
             "source": "HUMAN", "author": "ana"},
            {"itemId": "frame-0002", "schema": "pallet_visible", "value": "occluded",
             "source": "HUMAN", "author": "raj", "comment": "forklift in front"},
            {"itemId": "frame-0003", "schema": "pallet_visible", "value": "no",
             "source": "LLM_JUDGE", "author": "judge-v3"},
        ])["addLabels"]

    # 3. Training reads the frames and the labels and writes a model (mlModel facet, with
    #    per-tensor digests so modelOrigin can trace fine-tunes of it).
    model_path = workdir / "detector-v1.safetensors"
    write_model(model_path, {"backbone.weight": [0.1, 0.2, 0.3, 0.4], "head.weight": [0.5, 0.6]})
    labels = session["labelsDataset"]
    run_events(client, "train_detector", t0 + timedelta(days=1),
               inputs=[InputDataset(*FRAMES), InputDataset(labels["namespace"], labels["name"])],
               outputs=[OutputDataset("s3://models", "detector/v1", facets={
                   "mlModel": ml_model_facet("detector", "v1", model_path,
                                             framework="pytorch")})])

    # 4. Evaluation: metrics overall and per scene variant (evaluation run facet).
    run_events(client, "evaluate_detector", t0 + timedelta(days=2),
               inputs=[InputDataset("s3://models", "detector/v1")], outputs=[],
               run_facets={"evaluation": evaluation_facet(("detector", "v1"), [
                   SliceMetric("mAP", 0.74, higher_is_better=True),
                   SliceMetric("mAP", 0.61, True, scene_variant=("warehouse", NIGHT)),
                   SliceMetric("mAP", 0.83, True, scene_variant=("warehouse", DAY)),
               ], dataset=("s3://frames", "warehouse/holdout"))})

    # 5. Ask: the model's metrics per slice, and the labeling schema versions upstream of it.
    answer = graphql(url, """query($node: ID!) {
      modelVersion(name: "detector", version: "v1") {
        digest trainedBy { state }
        metrics(name: "mAP") { value slice { sceneVariant { selections { set option } } } } }
      lineage(nodeId: $node, direction: UPSTREAM, depth: 6) {
        nodes { id kind name } } }""", node="model:detector@v1")
    upstream_schemas = sorted(n["id"] for n in answer["lineage"]["nodes"]
                              if n["kind"] == "LABELING_SCHEMA_VERSION")
    return {"schemaVersion": schema["version"], "labelsVersion": added["datasetVersion"],
            "model": answer["modelVersion"], "upstreamSchemaVersions": upstream_schemas}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(main(args.url, Path(tmp)), indent=2))
