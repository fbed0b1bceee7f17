"""An MLflow snapshot as OpenLineage events (docs/importers.md#mlflow), deterministically: the
same snapshot always gives the same events, so a re-import is answered ``duplicate``.

- An MLflow run is a run (runId: the MLflow run id as a UUID) of the job named by
  ``job_name_template`` (default ``{experiment}/{run_name}``) in ``namespace``. Its START event
  (at its start time) carries only the ids, so it never changes; one more event carries
  everything below: COMPLETE / FAIL / ABORT once it ended, RUNNING while it runs, dated by the
  latest time MLflow recorded in it (its end, a metric, a model version created from it). A run
  that changed since the last import therefore sends one newer event, whose facets win.
- Its dataset inputs are input datasets named from their MLflow source (an https URL, an S3/GCS
  URI, a local path, a Hugging Face id; else ``<namespace>`` ``datasets/<name>``) and pinned to
  their MLflow digest with the ``version`` facet, with their MLflow schema as ``schema``.
- Each registered model version is an output dataset ``models/<name>/<version>`` of its source
  run, with the ``mlModel`` facet (name, version, digest of its artifacts).
- Metrics that measured a model version (the logged model's metrics; a version whose logged model
  has none takes the metrics of its source run) are an ``evaluation`` facet of a child run of the
  run that logged them (job ``<job>/evaluate <model>``), one per version measured, which reads
  the model; sliced by evaluation dataset (``{"dataset": <name>}``) when MLflow recorded one, and
  dated by the latest of those metrics. NaN and infinite values stay in ``mlflowRun`` (as
  strings) and are left out of ``evaluation``.
- Params, tags, status and every latest metric ride along in the ``mlflowRun`` run facet; the
  git commit and repository tags become ``sourceCodeLocation``.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    job_type_job,
    parent_run,
    schema_dataset,
    source_code_location_job,
)
from openlineage.client.generated.base import RunFacet
from openlineage.client.serde import Serde

from lineage_graph import PRODUCER
from lineage_graph.emitter_facets import (
    MlModelDatasetFacet,
    SliceMetric,
    evaluation_facet,
)
from lineage_graph.errors import InvalidRequestError
from lineage_graph.importers.mlflow_reader import (
    MlflowDataset,
    MlflowMetric,
    MlflowModelVersion,
    MlflowRun,
    MlflowSnapshot,
    RunNaming,
    is_newer,
)

DEFAULT_NAMESPACE = "mlflow"
DEFAULT_JOB_NAME = "{experiment}/{run_name}"
_SPEC = "https://lineage-graph.dev/spec/facets/1-0-0"
# Ids of runs that are not MLflow runs (evaluation children, non-UUID ids) derive from this.
_DERIVED_IDS = uuid.UUID("0f8a3c53-4a64-5bd6-9d0e-6d4c3f3c6a11")
_TERMINAL = {"FINISHED": RunState.COMPLETE, "FAILED": RunState.FAIL, "KILLED": RunState.ABORT}
_STATE_ORDER: dict[Any, int] = {RunState.START: 0, RunState.RUNNING: 1, RunState.COMPLETE: 2,
                                RunState.FAIL: 2, RunState.ABORT: 2}


@attr.define
class MlflowRunFacet(RunFacet):
    """The MLflow run this run was imported from (schema/facets/MlflowRunFacet.json)."""

    runId: str
    experimentId: str
    experimentName: str
    runName: str
    status: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: list[dict[str, Any]]
    user: str | None = attr.field(default=None)
    artifactUri: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{_SPEC}/MlflowRunFacet.json#/$defs/MlflowRunFacet"


def mlflow_events(snapshot: MlflowSnapshot, namespace: str = DEFAULT_NAMESPACE,
                  job_name_template: str = DEFAULT_JOB_NAME) -> list[dict[str, Any]]:
    """The snapshot's events as JSON values, in event-time order."""
    produced: dict[str, list[MlflowModelVersion]] = defaultdict(list)
    for mv in snapshot.model_versions:
        if mv.run_id is not None:
            produced[mv.run_id].append(mv)
    evaluations = _evaluations(snapshot)
    events: list[RunEvent] = []
    for run in snapshot.runs:
        job = job_name(run.naming, job_name_template)
        parent = None if run.parent is None else (
            run.parent[0], job_name(run.parent[1], job_name_template))
        events.extend(_run_events(run, namespace, job, parent, produced.get(run.run_id, [])))
        for mv, metrics in evaluations.get(run.run_id, []):
            events.extend(_evaluation_events(run, namespace, job, mv, metrics))
    ordered = sorted(events, key=lambda e: (e.eventTime, _STATE_ORDER.get(e.eventType, 1),
                                            e.run.runId))
    return [Serde.to_dict(e) for e in ordered]


def job_name(naming: RunNaming, template: str) -> str:
    try:
        return template.format(experiment=naming.experiment, run_name=naming.run_name,
                               source_name=naming.source_name,
                               experiment_id=naming.experiment_id)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise InvalidRequestError(
            f"job name template {template!r}: {exc!r}; fields are {{experiment}}, "
            "{run_name}, {source_name}, {experiment_id}", field="job_name") from exc


def openlineage_run_id(mlflow_run_id: str) -> str:
    """MLflow run ids are UUIDs without dashes; anything else is hashed to one."""
    try:
        return str(uuid.UUID(hex=mlflow_run_id))
    except ValueError:
        return str(uuid.uuid5(_DERIVED_IDS, mlflow_run_id))


# -- one run -------------------------------------------------------------------------------------


def _run_events(run: MlflowRun, namespace: str, job: str, parent: tuple[str, str] | None,
                produced: list[MlflowModelVersion]) -> list[RunEvent]:
    run_id = openlineage_run_id(run.run_id)
    ids_only: dict[str, Any] = {}
    if parent is not None:
        ids_only["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=openlineage_run_id(parent[0])),
            job=parent_run.Job(namespace=namespace, name=parent[1]), producer=PRODUCER)
    start = RunEvent(eventType=RunState.START, eventTime=_time(run.start_ms), producer=PRODUCER,
                     run=Run(runId=run_id, facets=ids_only),
                     job=Job(namespace=namespace, name=job), inputs=[], outputs=[])
    last_change = max([run.end_ms or run.start_ms, *(m.timestamp_ms for m in run.metrics),
                       *(mv.created_ms for mv in produced)])
    everything = RunEvent(
        eventType=_TERMINAL.get(run.status, RunState.RUNNING), eventTime=_time(last_change),
        producer=PRODUCER, run=Run(runId=run_id, facets={**ids_only,
                                                         "mlflowRun": _mlflow_facet(run)}),
        job=Job(namespace=namespace, name=job, facets=_job_facets(run)),
        inputs=[_input(ds, namespace) for ds in run.inputs],
        outputs=[_model_output(mv, namespace) for mv in produced])
    return [start, everything]


def _job_facets(run: MlflowRun) -> dict[str, Any]:
    facets: dict[str, Any] = {"jobType": job_type_job.JobTypeJobFacet(
        processingType="BATCH", integration="MLFLOW", jobType="RUN", producer=PRODUCER)}
    commit = run.tags.get("mlflow.source.git.commit")
    repo = run.tags.get("mlflow.source.git.repoURL")
    if commit and repo:
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="git", url=repo, repoUrl=repo, version=commit,
            branch=run.tags.get("mlflow.source.git.branch"),
            path=run.tags.get("mlflow.source.name"), producer=PRODUCER)
    return facets


def _mlflow_facet(run: MlflowRun) -> MlflowRunFacet:
    return MlflowRunFacet(
        runId=run.run_id, experimentId=run.naming.experiment_id,
        experimentName=run.naming.experiment, runName=run.naming.run_name, status=run.status,
        params=dict(sorted(run.params.items())), tags=dict(sorted(run.tags.items())),
        metrics=[{"key": m.key, "value": _json_number(m.value), "step": m.step,
                  "timestamp": _time(m.timestamp_ms),
                  **({"dataset": m.dataset_name, "datasetDigest": m.dataset_digest}
                     if m.dataset_name else {})} for m in run.metrics],
        user=run.user, artifactUri=run.artifact_uri, producer=PRODUCER)


def _json_number(value: float) -> float | str:
    """JSON has no NaN or infinity: those are kept as the strings MLflow's UI shows."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


# -- evaluations ---------------------------------------------------------------------------------

# run id -> the model versions it measured, with the metrics it logged for each
Evaluations = dict[str, list[tuple[MlflowModelVersion, list[MlflowMetric]]]]


def _evaluations(snapshot: MlflowSnapshot) -> Evaluations:
    runs = {run.run_id: run for run in snapshot.runs}
    out: Evaluations = defaultdict(list)
    for mv in snapshot.model_versions:
        by_run: dict[str, list[MlflowMetric]] = defaultdict(list)
        for metric in _latest(mv.metrics):
            if metric.run_id in runs and math.isfinite(metric.value):
                by_run[metric.run_id].append(metric)
        if not mv.metrics and mv.run_id in runs:
            # MLflow 2 style: the version's metrics are those of the run it came from.
            by_run[mv.run_id] = [m for m in runs[mv.run_id].metrics if math.isfinite(m.value)]
        for run_id, metrics in sorted(by_run.items()):
            if metrics:
                out[run_id].append((mv, metrics))
    return out


def _latest(metrics: tuple[MlflowMetric, ...]) -> list[MlflowMetric]:
    latest: dict[tuple[str, str | None, str | None], MlflowMetric] = {}
    for m in metrics:
        slot = (m.key, m.dataset_name, m.run_id)
        if slot not in latest or is_newer(m, latest[slot]):
            latest[slot] = m
    return [latest[k] for k in sorted(latest, key=lambda s: (s[0], s[1] or "", s[2] or ""))]


def _evaluation_events(run: MlflowRun, namespace: str, job: str, mv: MlflowModelVersion,
                       metrics: list[MlflowMetric]) -> list[RunEvent]:
    """A child run of ``run`` that read model version ``mv`` and measured ``metrics``."""
    child_id = str(uuid.uuid5(_DERIVED_IDS, f"{run.run_id}/{mv.name}/{mv.version}"))
    child_job = Job(namespace=namespace, name=f"{job}/evaluate {mv.name}")
    parent: dict[str, Any] = {"parent": parent_run.ParentRunFacet(
        run=parent_run.Run(runId=openlineage_run_id(run.run_id)),
        job=parent_run.Job(namespace=namespace, name=job), producer=PRODUCER)}
    evaluation = evaluation_facet((mv.name, mv.version), [
        SliceMetric(m.key, m.value,
                    dimensions={"dataset": m.dataset_name} if m.dataset_name else {})
        for m in metrics])
    return [
        RunEvent(eventType=RunState.START, eventTime=_time(run.start_ms), producer=PRODUCER,
                 run=Run(runId=child_id, facets=parent), job=child_job, inputs=[], outputs=[]),
        RunEvent(eventType=RunState.COMPLETE,
                 eventTime=_time(max(m.timestamp_ms for m in metrics)), producer=PRODUCER,
                 run=Run(runId=child_id, facets={**parent, "evaluation": evaluation}),
                 job=child_job, inputs=[_model_input(mv, namespace)], outputs=[]),
    ]


# -- datasets ------------------------------------------------------------------------------------


def dataset_identity(ds: MlflowDataset, namespace: str) -> tuple[str, str]:
    """(OpenLineage namespace, name) of an MLflow dataset, from its source when it names one.
    Credentials in a URL (``user:token@host``) never reach the graph."""
    source = ds.source
    location = source.get("url") or source.get("uri")
    if isinstance(location, str) and location:
        parsed = urlparse(location)
        if parsed.scheme in ("http", "https", "s3", "s3a", "gs", "gcs", "abfss", "wasbs", "hdfs"):
            host = parsed.hostname or ""
            authority = f"{host}:{parsed.port}" if parsed.port else host
            return f"{parsed.scheme}://{authority}", parsed.path or "/"
        if parsed.scheme == "file":
            return "file", parsed.path
        if parsed.scheme == "" and location.startswith("/"):
            return "file", location
    if ds.source_type == "huggingface" and isinstance(source.get("path"), str):
        return "huggingface", source["path"]
    return namespace, f"datasets/{ds.name}"


def _input(ds: MlflowDataset, namespace: str) -> InputDataset:
    ns, name = dataset_identity(ds, namespace)
    facets: dict[str, Any] = {"version": dataset_version_dataset.DatasetVersionDatasetFacet(
        datasetVersion=ds.digest, producer=PRODUCER)}
    fields = _schema_fields(ds.schema)
    if fields:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)
    return InputDataset(namespace=ns, name=name, facets=facets)


def _schema_fields(schema: dict[str, Any] | None) -> list[schema_dataset.SchemaDatasetFacetFields]:
    """MLflow's column spec (``{"mlflow_colspec": [{"name", "type"}...]}``) as schema fields."""
    columns = (schema or {}).get("mlflow_colspec")
    if not isinstance(columns, list):
        return []
    return [schema_dataset.SchemaDatasetFacetFields(name=str(c["name"]), type=str(c.get("type")))
            for c in columns if isinstance(c, dict) and c.get("name")]


def _model_dataset(mv: MlflowModelVersion) -> str:
    return f"models/{mv.name}/{mv.version}"


def _model_output(mv: MlflowModelVersion, namespace: str) -> OutputDataset:
    return OutputDataset(namespace=namespace, name=_model_dataset(mv), facets={
        "mlModel": MlModelDatasetFacet(
            name=mv.name, version=mv.version, digest=mv.digest, format=mv.format,
            tensors=mv.tensors, producer=PRODUCER)})


def _model_input(mv: MlflowModelVersion, namespace: str) -> InputDataset:
    return InputDataset(namespace=namespace, name=_model_dataset(mv))


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()
