"""An MLflow snapshot as OpenLineage events (docs/importers.md#mlflow), deterministically: the
same snapshot always gives the same events, so a re-import is answered ``duplicate``.

- An MLflow run is a run (runId: the MLflow run id as a UUID) of the job named by
  ``job_name_template`` (default ``{experiment}/{run_name}``) in ``namespace``: a START event at
  its start time and, once it ended, COMPLETE / FAIL / ABORT at the latest time anything in it
  was recorded (its end, a metric, a model version registered from it), carrying everything
  below, so a run that changed since the last import sends one newer event whose facets win
  (an ended run's START carries only the ids and stays the same).
- Its dataset inputs are input datasets named from their MLflow source (an https URL, an S3/GCS
  URI, a local path, a Hugging Face id; else ``<namespace>`` ``datasets/<name>``) and pinned to
  their MLflow digest with the ``version`` facet, with their MLflow schema as ``schema``.
- Each registered model version is an output dataset ``models/<name>/<version>`` of its source
  run, with the ``mlModel`` facet (name, version, digest of its artifacts).
- Metrics that measured a model version (the logged model's metrics; else the metrics of the
  version's source run) are an ``evaluation`` facet of the run that logged them, sliced by
  evaluation dataset (``{"dataset": <name>}``) when MLflow recorded one. A run that measured more
  than one version gets one child run per version, each with its own ``evaluation``.
- Params, tags, status and every latest metric ride along in the ``mlflowRun`` run facet; the
  git commit and repository tags become ``sourceCodeLocation``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
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
from lineage_graph.importers.mlflow_reader import (
    MlflowDataset,
    MlflowMetric,
    MlflowModelVersion,
    MlflowRun,
    MlflowSnapshot,
)

DEFAULT_NAMESPACE = "mlflow"
DEFAULT_JOB_NAME = "{experiment}/{run_name}"
_SPEC = "https://lineage-graph.dev/spec/facets/1-0-0"
# Child evaluation runs get stable ids derived from their parent's.
_EVALUATION_IDS = uuid.UUID("0f8a3c53-4a64-5bd6-9d0e-6d4c3f3c6a11")
_TERMINAL = {"FINISHED": RunState.COMPLETE, "FAILED": RunState.FAIL, "KILLED": RunState.ABORT}


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
    runs = {run.run_id: run for run in snapshot.runs}
    produced: dict[str, list[MlflowModelVersion]] = defaultdict(list)
    for mv in snapshot.model_versions:
        if mv.run_id in runs:
            produced[mv.run_id].append(mv)
    evaluations = _evaluations(snapshot, runs)
    events: list[RunEvent] = []
    for run in snapshot.runs:
        events.extend(_run_events(run, namespace, job_name_template,
                                  produced.get(run.run_id, []), evaluations.get(run.run_id, []),
                                  runs))
    ordered = sorted(events, key=lambda e: (e.eventTime, _STATE_ORDER.get(e.eventType, 1),
                                            e.run.runId))
    return [Serde.to_dict(e) for e in ordered]


_STATE_ORDER: dict[Any, int] = {RunState.START: 0, RunState.RUNNING: 1, RunState.COMPLETE: 2,
                RunState.FAIL: 2, RunState.ABORT: 2}


def job_name(run: MlflowRun, template: str) -> str:
    try:
        return template.format(experiment=run.experiment_name, run_name=run.run_name,
                               source_name=run.tags.get("mlflow.source.name") or run.run_name,
                               experiment_id=run.experiment_id)
    except (KeyError, IndexError, ValueError) as exc:
        from lineage_graph.errors import InvalidRequestError

        raise InvalidRequestError(
            f"job name template {template!r}: {exc}; fields are {{experiment}}, {{run_name}}, "
            "{source_name}, {experiment_id}", field="job_name") from exc


def openlineage_run_id(mlflow_run_id: str) -> str:
    """MLflow run ids are UUIDs without dashes; anything else is hashed to one."""
    try:
        return str(uuid.UUID(hex=mlflow_run_id))
    except ValueError:
        return str(uuid.uuid5(_EVALUATION_IDS, mlflow_run_id))


# -- evaluations ---------------------------------------------------------------------------------

# run id -> the model versions it measured, with the metrics it logged for each
Evaluations = dict[str, list[tuple[MlflowModelVersion, list[MlflowMetric]]]]


def _evaluations(snapshot: MlflowSnapshot, runs: dict[str, MlflowRun]) -> Evaluations:
    out: Evaluations = defaultdict(list)
    for mv in snapshot.model_versions:
        by_run: dict[str, list[MlflowMetric]] = defaultdict(list)
        for metric in _latest(mv.metrics):
            if metric.run_id in runs:
                by_run[metric.run_id].append(metric)
        if not by_run and mv.run_id in runs:
            # MLflow 2 style: the version's metrics are those of the run it came from.
            by_run[mv.run_id] = list(runs[mv.run_id].metrics)
        for run_id, metrics in by_run.items():
            if metrics:
                out[run_id].append((mv, metrics))
    return out


def _latest(metrics: tuple[MlflowMetric, ...]) -> list[MlflowMetric]:
    latest: dict[tuple[str, str | None, str | None], MlflowMetric] = {}
    for m in metrics:
        slot = (m.key, m.dataset_name, m.run_id)
        if slot not in latest or (m.step, m.timestamp_ms) >= (latest[slot].step,
                                                              latest[slot].timestamp_ms):
            latest[slot] = m
    return [latest[k] for k in sorted(latest, key=lambda s: (s[0], s[1] or "", s[2] or ""))]


def _evaluation_facet(mv: MlflowModelVersion, metrics: list[MlflowMetric]) -> Any:
    return evaluation_facet((mv.name, mv.version), [
        SliceMetric(m.key, m.value,
                    dimensions={"dataset": m.dataset_name} if m.dataset_name else {})
        for m in metrics])


# -- one run -------------------------------------------------------------------------------------


def _run_events(run: MlflowRun, namespace: str, template: str,
                produced: list[MlflowModelVersion],
                evaluated: list[tuple[MlflowModelVersion, list[MlflowMetric]]],
                runs: dict[str, MlflowRun]) -> Iterator[RunEvent]:
    run_id = openlineage_run_id(run.run_id)
    job = job_name(run, template)
    job_facets = _job_facets(run)
    run_facets: dict[str, Any] = {"mlflowRun": _mlflow_facet(run)}
    parent = run.tags.get("mlflow.parentRunId")
    if parent and parent in runs:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=openlineage_run_id(parent)),
            job=parent_run.Job(namespace=namespace, name=job_name(runs[parent], template)),
            producer=PRODUCER)
    own_evaluation = len(evaluated) == 1
    if own_evaluation:
        [(mv, metrics)] = evaluated
        run_facets["evaluation"] = _evaluation_facet(mv, metrics)
    inputs = [_input(ds, namespace) for ds in run.inputs]
    # A version measured here but registered from another run is read by this run.
    inputs += [_model_input(mv, namespace) for mv, _ in evaluated if mv.run_id != run.run_id]
    outputs = [_model_output(mv, namespace) for mv in produced]
    state = _TERMINAL.get(run.status)
    start = _time(run.start_ms)
    if state is None:  # still running: the START event carries all there is so far
        yield RunEvent(eventType=RunState.START, eventTime=start, producer=PRODUCER,
                       run=Run(runId=run_id, facets=run_facets),
                       job=_job(namespace, job, job_facets), inputs=inputs, outputs=[])
        return
    # An ended run's START stays the same whatever is logged to it later, so a re-import after
    # a change sends one new event (the terminal one, which carries everything), not two.
    yield RunEvent(eventType=RunState.START, eventTime=start, producer=PRODUCER,
                   run=Run(runId=run_id, facets={k: v for k, v in run_facets.items()
                                                 if k == "parent"}),
                   job=Job(namespace=namespace, name=job), inputs=[], outputs=[])
    end = _time(_last_change_ms(run, produced, evaluated))
    yield RunEvent(eventType=state, eventTime=end, producer=PRODUCER,
                   run=Run(runId=run_id, facets=run_facets), job=_job(namespace, job, job_facets),
                   inputs=inputs, outputs=outputs)
    if not own_evaluation:
        for mv, metrics in evaluated:
            yield from _child_evaluation(run, run_id, namespace, job, mv, metrics, end)


def _child_evaluation(run: MlflowRun, run_id: str, namespace: str, job: str,
                      mv: MlflowModelVersion, metrics: list[MlflowMetric], at: str
                      ) -> Iterator[RunEvent]:
    child_id = str(uuid.uuid5(_EVALUATION_IDS, f"{run.run_id}/{mv.name}/{mv.version}"))
    facets = {"evaluation": _evaluation_facet(mv, metrics),
              "parent": parent_run.ParentRunFacet(
                  run=parent_run.Run(runId=run_id),
                  job=parent_run.Job(namespace=namespace, name=job), producer=PRODUCER)}
    child_job = Job(namespace=namespace, name=f"{job}/evaluate {mv.name}")
    for state in (RunState.START, RunState.COMPLETE):
        yield RunEvent(eventType=state, eventTime=at, producer=PRODUCER,
                       run=Run(runId=child_id, facets=facets), job=child_job,
                       inputs=[_model_input(mv, namespace)], outputs=[])


def _last_change_ms(run: MlflowRun, produced: list[MlflowModelVersion],
                    evaluated: list[tuple[MlflowModelVersion, list[MlflowMetric]]]) -> int:
    times = [run.end_ms or run.start_ms, *(m.timestamp_ms for m in run.metrics),
             *(mv.updated_ms for mv in produced),
             *(m.timestamp_ms for _, ms in evaluated for m in ms)]
    return max(times)


def _job(namespace: str, name: str, facets: dict[str, Any]) -> Job:
    return Job(namespace=namespace, name=name, facets=facets)


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
        runId=run.run_id, experimentId=run.experiment_id, experimentName=run.experiment_name,
        runName=run.run_name, status=run.status, params=dict(sorted(run.params.items())),
        tags=dict(sorted(run.tags.items())),
        metrics=[{"key": m.key, "value": m.value, "step": m.step,
                  "timestamp": _time(m.timestamp_ms),
                  **({"dataset": m.dataset_name, "datasetDigest": m.dataset_digest}
                     if m.dataset_name else {})} for m in run.metrics],
        user=run.user, artifactUri=run.artifact_uri, producer=PRODUCER)


# -- datasets ------------------------------------------------------------------------------------


def dataset_identity(ds: MlflowDataset, namespace: str) -> tuple[str, str]:
    """(OpenLineage namespace, name) of an MLflow dataset, from its source when it names one."""
    source = ds.source
    location = source.get("url") or source.get("uri")
    if isinstance(location, str) and location:
        parsed = urlparse(location)
        if parsed.scheme in ("http", "https", "s3", "s3a", "gs", "gcs", "abfss", "wasbs", "hdfs"):
            return f"{parsed.scheme}://{parsed.netloc}", parsed.path or "/"
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
