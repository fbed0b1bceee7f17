"""Builders of realistic OpenLineage events for tests and benchmarks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.20.0/integration/airflow"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def facet(schema_name: str, /, **fields: Any) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": f"https://openlineage.io/spec/facets/1-0-1/{schema_name}.json"
                      f"#/$defs/{schema_name}",
        **fields,
    }


def ds(namespace: str, name: str, fields: list[str] | None = None,
       version: str | None = None, lineage: dict[str, list[tuple[str, str, str]]] | None = None,
       ) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if fields:
        facets["schema"] = facet("SchemaDatasetFacet",
                                 fields=[{"name": f, "type": "STRING"} for f in fields])
    if version:
        facets["version"] = facet("DatasetVersionDatasetFacet", datasetVersion=version)
    if lineage:
        facets["columnLineage"] = facet("ColumnLineageDatasetFacet", fields={
            out: {"inputFields": [{"namespace": n, "name": d, "field": f} for n, d, f in inputs]}
            for out, inputs in lineage.items()
        })
    return {"namespace": namespace, "name": name, "facets": facets}


def run_event(
    event_type: str,
    run_id: str,
    job: tuple[str, str],
    at: datetime,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": at.isoformat(),
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def new_run_id() -> str:
    return str(uuid.uuid4())


def pipeline(n_runs: int = 3, start: datetime = T0) -> list[dict[str, Any]]:
    """A small nightly pipeline: raw -> clean -> features, each run START + COMPLETE, with
    schemas, column lineage and a parent run orchestrating them."""
    events: list[dict[str, Any]] = []
    parent = new_run_id()
    parent_job = ("airflow", "nightly")
    events.append(run_event("START", parent, parent_job, start))
    stages = [("raw.frames", "clean.frames"), ("clean.frames", "features.frames")]
    t = start
    for night in range(n_runs):
        for i, (src, dst) in enumerate(stages):
            rid = new_run_id()
            t = start + timedelta(hours=night * 24, minutes=10 * i + 1)
            parent_facet = {"parent": facet("ParentRunFacet", run={"runId": parent},
                                            job={"namespace": "airflow", "name": "nightly"})}
            inputs = [ds("s3://lake", src, ["frame_id", "ts"])]
            outputs = [ds("s3://lake", dst, ["frame_id", "ts"],
                          lineage={"frame_id": [("s3://lake", src, "frame_id")],
                                   "ts": [("s3://lake", src, "ts")]})]
            sql = {"sql": facet("SQLJobFacet", query=f"INSERT INTO {dst} SELECT * FROM {src}")}
            events.append(run_event("START", rid, ("spark", f"stage_{i}"), t, inputs, outputs,
                                    parent_facet, sql))
            events.append(run_event("COMPLETE", rid, ("spark", f"stage_{i}"),
                                    t + timedelta(minutes=5), inputs, outputs, parent_facet, sql))
    events.append(run_event("COMPLETE", parent, parent_job, t + timedelta(hours=1)))
    return events


def model_training(version: str, digest: str, derived: list[str] | None = None,
                   data: str = "frames/train", tensors: dict[str, str] | None = None,
                   ) -> list[dict[str, Any]]:
    """A training run reading `data` and writing a model version (mlModel facet)."""
    run_id = new_run_id()
    out = ds("s3://models", f"detector/{version}")
    out["facets"]["mlModel"] = facet("MlModelDatasetFacet", name="detector", version=version,
                                     digest=digest, framework="pytorch", format="safetensors",
                                     derivedFrom=derived or [])
    if tensors is not None:
        out["facets"]["mlModel"]["tensors"] = tensors
    job = ("train", "detector")
    return [run_event("START", run_id, job, T0, inputs=[ds("s3://lake", data)]),
            run_event("COMPLETE", run_id, job, T0.replace(hour=10),
                      inputs=[ds("s3://lake", data)], outputs=[out])]


def model_evaluation(version: str, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """An evaluation run of detector `version` (evaluation facet) with these metric objects."""
    return run_event("COMPLETE", new_run_id(), ("eval", "detector"), T0.replace(hour=12),
                     inputs=[ds("s3://models", f"detector/{version}")],
                     run_facets={"evaluation": facet("EvaluationRunFacet",
                                                     model={"name": "detector",
                                                            "version": version},
                                                     metrics=metrics)})


def every_row_kind() -> list[dict[str, Any]]:
    """Events that give a write plan a row of every kind: a pipeline (parents, schemas, column
    lineage, versions), a pinned read, a symlinked table, a rendered dataset (usdScene), a model
    trained with tensors and evaluated per scene variant, and a labels dataset (labelingSchema)."""
    events = pipeline(n_runs=1)
    reader = new_run_id()
    rendered = ds("usd://warehouse", "warehouse/frames")
    rendered["facets"]["usdScene"] = facet("UsdSceneDatasetFacet", sceneId="warehouse",
                                           rootLayer="warehouse.usda",
                                           variantSelections={"lighting": "dusk"})
    table = ds("file", "/tmp/tbl1", ["ident"])
    table["facets"]["symlinks"] = facet("SymlinksDatasetFacet", identifiers=[
        {"namespace": "hive://metastore", "name": "default.tbl1", "type": "TABLE"}])
    events.append(run_event("COMPLETE", reader, ("spark", "export"), T0,
                            inputs=[ds("s3://lake", "features.frames", version="v7"), rendered],
                            outputs=[table]))
    events += model_training("v1", "sha256:aaa", tensors={"embed": "sha256:e"})
    events.append(model_evaluation("v1", [
        {"name": "mAP", "value": 0.5, "higherIsBetter": True,
         "slice": {"sceneVariant": {"sceneId": "warehouse", "selections": {"lighting": "dusk"}}}},
    ]))
    labels = ds("s3://labels", "vendor")
    labels["facets"]["labelingSchema"] = facet("LabelingSchemaDatasetFacet",
                                               schemas=[{"name": "defect", "version": 1}])
    events.append({"eventTime": T0.isoformat(), "producer": PRODUCER, "dataset": labels,
                   "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"
                                "#/$defs/DatasetEvent"})
    return events
