"""The demo pipeline, built in a running platform through its real APIs: USD scenes via
``POST /api/v1/scenes``, runs via the OpenLineage Python client (HTTP transport), labeling via
GraphQL. A regression is planted in model v2: the night frames it trained on were re-rendered by
a render job whose code changed (a fixed exposure, too dark at night), and labels moved to a new
schema version midway.

Everything is deterministic (run ids from names, fixed event times, idempotent labeling calls),
so running the demo again changes nothing.
"""

from __future__ import annotations

import json
import random
import struct
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    dataset_version_dataset,
    input_statistics_input_dataset,
    output_statistics_output_dataset,
    schema_dataset,
    source_code_job,
)
from openlineage.client.transport.http import HttpConfig, HttpTransport

from lineage_graph.client import LineageGraphClient
from lineage_graph.demo.scenes import SCENE_ID, author_warehouse
from lineage_graph.emitter_facets import SliceMetric, evaluation_facet, ml_model_facet
from lineage_graph.usd.facet import scene_facet

PRODUCER = "https://github.com/lineage-graph/lineage-graph/tree/main/lineage_graph/demo"
NAMESPACE = "physical-ai"
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
_IDS = uuid.UUID("6f1c2a9e-5d0b-4c1e-9a77-3b8e2f4d1c60")

VARIANTS: dict[str, dict[str, str]] = {
    "day_wide": {"lighting": "day", "layout": "aisle_wide"},
    "night_wide": {"lighting": "night", "layout": "aisle_wide"},
    "day_narrow": {"lighting": "day", "layout": "aisle_narrow"},
}
RENDER_CODE_V1 = "frames = replicator.render(scene, exposure='auto', denoise=True)"
RENDER_CODE_V2 = "frames = replicator.render(scene, exposure=0.2, denoise=True)  # faster"
FRAMES_PER_VARIANT = 12_000
LABELED_ITEMS = 3_000
SESSION = "warehouse pallet review"
LABELS = ("lineage-graph.labels", f"session/{SESSION}")
# mAP per evaluation slice: v2 holds up by day and collapses at night (the planted regression).
MAP = {
    "v1": {"overall": 0.81, "day_wide": 0.84, "night_wide": 0.78, "day_narrow": 0.80},
    "v2": {"overall": 0.74, "day_wide": 0.85, "night_wide": 0.52, "day_narrow": 0.81},
}
SCHEMA_V1: dict[str, Any] = {
    "name": "pallet_visible", "type": "EXPECTATION", "title": "Is a pallet visible?",
    "instruction": "Answer for the pallet closest to the camera.",
    "input": {"kind": "CATEGORICAL", "options": ["yes", "no"]}, "enableComment": True,
}
SCHEMA_V2: dict[str, Any] = {
    **SCHEMA_V1, "input": {"kind": "CATEGORICAL", "options": ["yes", "no", "occluded"]}}

SUSPECTS_QUERY = """query Regression {
  regressionSuspects(model: "detector", version: "v2", baseline: "v1", metric: "mAP") {
    metric baselineValue candidateValue delta regressed
    implicatedSceneVariants { id name }
    suspects { rank kind score reason node { id kind name } metricDelta evidence evidenceText }
  }
}"""

CYPHER = """MATCH (:ModelVersion {name: 'detector', version: 'v2'})
      -[:HAS_METRIC]->(x:Metric {name: 'mAP'})-[:FOR_SCENE_VARIANT]->(variant:SceneVariant)
MATCH (:ModelVersion {name: 'detector', version: 'v1'})
      -[:HAS_METRIC]->(y:Metric {name: 'mAP'})-[:FOR_SCENE_VARIANT]->(variant)
RETURN variant.name AS sceneVariant, y.value AS v1, x.value AS v2, x.value - y.value AS delta
ORDER BY delta"""


@dataclass(frozen=True)
class DemoResult:
    api_url: str
    report: dict[str, Any]


class DemoPipeline:
    def __init__(self, api_url: str, workdir: Path,
                 log: Callable[[str], None] = lambda _: None) -> None:
        self.api = api_url.rstrip("/")
        self.workdir = workdir
        self.log = log
        self.client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=self.api)))
        self.scene_root = workdir / "scenes" / "warehouse.usda"

    def run(self) -> DemoResult:
        self.log("authoring the USD scene and storing it (POST /api/v1/scenes)")
        self._scene()
        self.log("rendering synthetic frames per scene variant (usdScene facets)")
        for key in VARIANTS:
            self._render(key, day=0, code=RENDER_CODE_V1)
        self.log("labeling under pallet_visible v1")
        session_id = self._labels_v1()
        self.log("training detector v1")
        self._train("v1", day=2, labels_version="batch-1")
        self.log("re-rendering the night frames with the changed render job")
        self._render("night_wide", day=3, code=RENDER_CODE_V2)
        self.log("labeling under pallet_visible v2 (the schema changed midway)")
        self._labels_v2(session_id)
        self.log("fine-tuning detector v2 from v1")
        self._train("v2", day=4, labels_version="batch-2", base="v1")
        self.log("evaluating both versions per scene variant (evaluation facets)")
        for version in ("v1", "v2"):
            self._evaluate(version, day=5)
        self.log("asking regressionSuspects")
        report = self.graphql(SUSPECTS_QUERY)["regressionSuspects"]
        return DemoResult(api_url=self.api, report=report)

    # -- the platform's APIs --------------------------------------------------------------------

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        with LineageGraphClient(self.api, timeout_s=120) as platform:
            return platform.graphql(query, **variables)

    def _emit(self, job: str, run_key: str, start: datetime, inputs: list[InputDataset],
              outputs: list[OutputDataset], run_facets: dict[str, Any] | None = None,
              job_facets: dict[str, Any] | None = None) -> None:
        run_id = str(uuid.uuid5(_IDS, run_key))
        for state, at in ((RunState.START, start),
                          (RunState.COMPLETE, start + timedelta(minutes=45))):
            self.client.emit(RunEvent(
                eventType=state, eventTime=at.isoformat(), producer=PRODUCER,
                run=Run(runId=run_id, facets=run_facets or {}),
                job=Job(namespace=NAMESPACE, name=job, facets=job_facets or {}),
                inputs=inputs, outputs=outputs))

    # -- pipeline steps -------------------------------------------------------------------------

    def _scene(self) -> None:
        from lineage_graph.usd.extract import read_scene

        author_warehouse(self.scene_root.parent)
        doc = read_scene(self.scene_root, all_variants=True).as_dict()
        with LineageGraphClient(self.api) as platform:
            platform.post_scene(doc)

    def _render(self, key: str, day: int, code: str) -> None:
        scene = InputDataset(f"usd://{SCENE_ID}", f"warehouse/{key}", facets={
            "usdScene": scene_facet(self.scene_root, VARIANTS[key])})
        frames = OutputDataset("s3://frames", f"warehouse/{key}", outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=FRAMES_PER_VARIANT, producer=PRODUCER)})
        self._emit("render_warehouse", f"render/{key}/{day}", T0 + timedelta(days=day),
                   [scene], [frames], job_facets={"sourceCode": source_code_job.SourceCodeJobFacet(
                       language="python", sourceCode=code, producer=PRODUCER)})

    def _labels_v1(self) -> str:
        self.graphql(CREATE_SCHEMA, input=SCHEMA_V1)
        session = self.graphql(CREATE_SESSION, input={
            "name": SESSION, "schemas": [{"name": "pallet_visible", "version": 1}],
            "dataset": {"namespace": "s3://frames", "name": "warehouse/day_wide"},
            "assignedUsers": ["ana", "raj"]})["createLabelingSession"]
        session_id: str = session["id"]
        self.graphql(ADD_LABELS, sessionId=session_id, batchKey="first-pass",
                     labels=_labels(["yes", "no", "yes", "yes"]))
        return session_id

    def _labels_v2(self, session_id: str) -> None:
        version = self.graphql(CREATE_SCHEMA, input=SCHEMA_V2)["createLabelingSchema"]["version"]
        self.graphql(UPDATE_SESSION, sessionId=session_id,
                     schemas=[{"name": "pallet_visible", "version": version}])
        self.graphql(ADD_LABELS, sessionId=session_id, batchKey="second-pass",
                     labels=_labels(["occluded", "yes", "no", "occluded"]))

    def _train(self, version: str, day: int, labels_version: str,
               base: str | None = None) -> None:
        model_path = self.workdir / "models" / f"detector-{version}.safetensors"
        _write_model(model_path, version)
        derived = []
        if base is not None:
            derived.append(ml_model_facet("detector", base, self.workdir / "models" /
                                          f"detector-{base}.safetensors").digest)
        inputs = [InputDataset("s3://frames", f"warehouse/{key}", inputFacets={
            "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=FRAMES_PER_VARIANT, producer=PRODUCER)}) for key in VARIANTS]
        inputs.append(InputDataset(*LABELS, facets={
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=labels_version, producer=PRODUCER)}, inputFacets={
            "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=LABELED_ITEMS, producer=PRODUCER)}))
        model = OutputDataset("s3://models", f"detector/{version}", facets={
            "mlModel": ml_model_facet("detector", version, model_path, framework="pytorch",
                                      derived_from=derived)})
        self._emit("train_detector", f"train/{version}", T0 + timedelta(days=day), inputs,
                   [model])

    def _evaluate(self, version: str, day: int) -> None:
        scores = MAP[version]
        metrics = [SliceMetric("mAP", scores["overall"], higher_is_better=True)]
        metrics += [SliceMetric("mAP", scores[key], True, {"split": "holdout"},
                                (SCENE_ID, VARIANTS[key])) for key in VARIANTS]
        holdout = InputDataset("s3://frames", "warehouse/holdout", facets={
            "schema": _schema("frame_id", "label", "scene_variant")})
        report = OutputDataset("s3://reports", f"detector/{version}/eval", facets={
            "schema": _schema("scene_variant", "mAP"),
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields={
                "mAP": _from_holdout("label", "AGGREGATION"),
                "scene_variant": _from_holdout("scene_variant", "IDENTITY"),
            }, producer=PRODUCER)})
        self._emit("evaluate_detector", f"evaluate/{version}", T0 + timedelta(days=day),
                   [InputDataset("s3://models", f"detector/{version}"), holdout], [report],
                   run_facets={"evaluation": evaluation_facet(
                       ("detector", version), metrics, dataset=("s3://frames",
                                                                "warehouse/holdout"))})


CREATE_SCHEMA = """mutation($input: LabelingSchemaInput!) {
  createLabelingSchema(input: $input) { id version } }"""
CREATE_SESSION = """mutation($input: LabelingSessionInput!) {
  createLabelingSession(input: $input) { id } }"""
UPDATE_SESSION = """mutation($sessionId: ID!, $schemas: [SchemaRefInput!]!) {
  updateLabelingSession(sessionId: $sessionId, schemas: $schemas) { id } }"""
ADD_LABELS = """mutation($sessionId: ID!, $labels: [LabelInput!]!, $batchKey: String) {
  addLabels(sessionId: $sessionId, labels: $labels, batchKey: $batchKey) {
    datasetVersion replayed } }"""


def _schema(*fields: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=f, type="STRING") for f in fields],
        producer=PRODUCER)


def _from_holdout(field: str, kind: str) -> column_lineage_dataset.Fields:
    return column_lineage_dataset.Fields(
        inputFields=[column_lineage_dataset.InputField(
            namespace="s3://frames", name="warehouse/holdout", field=field,
            transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype=kind)])],
        transformationDescription="", transformationType="")


def _labels(values: list[str]) -> list[dict[str, Any]]:
    return [{"itemId": f"frame-{i:05d}", "schema": "pallet_visible", "value": value,
             "source": "HUMAN", "author": "ana" if i % 2 else "raj",
             "time": (T0 + timedelta(days=1, minutes=i)).isoformat()}
            for i, value in enumerate(values)]


def _write_model(path: Path, version: str) -> None:
    """A small float32 safetensors file: v2 keeps v1's backbone (frozen) and retrains the head,
    so the fingerprints share the backbone tensors."""
    tensors: dict[str, list[float]] = {}
    for name, size in (("backbone.conv1.weight", 256), ("backbone.conv2.weight", 512)):
        tensors[name] = [random.Random(f"{name}").uniform(-1, 1) for _ in range(size)]
    tensors["head.weight"] = [random.Random(f"head/{version}").uniform(-1, 1)
                              for _ in range(128)]
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, values in tensors.items():
        raw = array("f", values).tobytes()
        header[name] = {"dtype": "F32", "shape": [len(values)],
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    content = struct.pack("<Q", len(encoded)) + encoded + data
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
