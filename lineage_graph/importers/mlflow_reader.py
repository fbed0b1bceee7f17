"""Read an MLflow tracking store or server with the ``mlflow`` package's client (the optional
``lineage-graph[mlflow]`` extra) into plain snapshots: the only module that imports ``mlflow``.

What is read: experiments (all active ones, or those named), their active runs with params, tags,
dataset inputs and the latest value of every metric per evaluation dataset (MLflow keeps
per-dataset metrics under one key, so the history is read), logged models with their metrics,
and registered model versions whose source run was read. A model version's digest is the
lineage-graph fingerprint of its artifacts when they are on a local path inside its experiment's
artifact root (model_artifacts); otherwise ``mlflow:<model id or source>``, an identity rather
than a content hash (docs/importers.md says so). What could not be read is a warning.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lineage_graph.errors import InvalidRequestError, LineageGraphError
from lineage_graph.importers.model_artifacts import artifact_digest

Progress = Callable[[str], None]  # called with what is being read
_LOGGED_MODEL_SOURCE = re.compile(r"(?:^models:/|/models/)(m-[0-9a-f]{32})(?:/|$)")


class MlflowUnavailableError(LineageGraphError):
    """The ``mlflow`` package is missing, or the tracking store cannot be read."""


@dataclass(frozen=True)
class MlflowDataset:
    name: str
    digest: str
    source_type: str
    source: dict[str, Any]
    schema: dict[str, Any] | None
    context: str | None  # mlflow.data.context: training, eval, ...


@dataclass(frozen=True)
class MlflowMetric:
    key: str
    value: float  # may be NaN or infinite: MLflow accepts them
    timestamp_ms: int
    step: int
    run_id: str | None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class RunNaming:
    """What job name templates are made of."""

    experiment: str
    run_name: str
    source_name: str
    experiment_id: str


@dataclass(frozen=True)
class MlflowRun:
    run_id: str
    naming: RunNaming
    status: str  # RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_ms: int
    end_ms: int | None
    user: str | None
    artifact_uri: str | None
    params: dict[str, str]
    tags: dict[str, str]
    inputs: tuple[MlflowDataset, ...]
    metrics: tuple[MlflowMetric, ...]  # latest per (key, dataset name)
    parent: tuple[str, RunNaming] | None = None  # mlflow.parentRunId, read or not

    @property
    def experiment_name(self) -> str:
        return self.naming.experiment

    @property
    def run_name(self) -> str:
        return self.naming.run_name


@dataclass(frozen=True)
class MlflowModelVersion:
    name: str
    version: str
    run_id: str | None
    model_id: str | None
    source: str
    status: str
    created_ms: int
    digest: str
    format: str  # safetensors, bytes, directory, reference
    tensors: dict[str, str] | None
    metrics: tuple[MlflowMetric, ...] = ()  # the logged model's metrics (MLflow 3)


@dataclass
class MlflowSnapshot:
    runs: list[MlflowRun] = field(default_factory=list)
    model_versions: list[MlflowModelVersion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_mlflow(tracking_uri: str, experiments: Iterable[str] = (),
                since: datetime | None = None, progress: Progress | None = None
                ) -> MlflowSnapshot:
    """Everything the import needs, read once. ``since`` keeps runs started, ended, still
    running or with a metric logged at or after it, and runs whose registered model versions
    were created since."""
    client = _client(tracking_uri)
    since_ms = None if since is None else int(since.timestamp() * 1000)
    try:
        selected = _experiments(client, list(experiments))
        versions = list(_paged(partial(_versions_page, client)))
        changed = {mv.run_id for mv in versions
                   if since_ms is None or int(mv.creation_timestamp) >= since_ms}
        snapshot = MlflowSnapshot()
        reader = _Reader(client, snapshot.warnings)
        roots: dict[str, Path | None] = {}
        for experiment in selected:
            if progress is not None:
                progress(f"experiment {experiment.name}")
            roots[experiment.experiment_id] = _local_path(experiment.artifact_location)
            for run in _paged(partial(_runs_page, client, experiment.experiment_id)):
                if since_ms is None or _active_since(run, since_ms) or (
                        run.info.run_id in changed):
                    snapshot.runs.append(reader.run(run, experiment.name))
        experiment_of = {r.run_id: r.naming.experiment_id for r in snapshot.runs}
        for mv in sorted(versions, key=lambda v: (v.name, _version_order(str(v.version)))):
            if mv.run_id in experiment_of:
                if progress is not None:
                    progress(f"model {mv.name} version {mv.version}")
                snapshot.model_versions.append(
                    reader.model_version(mv, roots.get(experiment_of[mv.run_id])))
        return snapshot
    except LineageGraphError:
        raise
    except Exception as exc:  # mlflow raises its own and its stores' errors
        raise MlflowUnavailableError(f"cannot read MLflow at {tracking_uri}: {exc}") from exc


def _active_since(run: Any, since_ms: int) -> bool:
    info = run.info
    if info.start_time >= since_ms or info.end_time is None or info.end_time >= since_ms:
        return True
    # A metric logged to an ended run changes it too (the run view keeps the latest values).
    metrics = getattr(run.data, "_metric_objs", None) or []
    return any(int(m.timestamp) >= since_ms for m in metrics)


def _client(tracking_uri: str) -> Any:
    if urlparse(tracking_uri).scheme in ("", "file"):
        # Newer MLflow refuses file stores unless told otherwise; reading one to import it is
        # exactly what the flag is for.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise MlflowUnavailableError(
            "the MLflow importer needs the mlflow package: pip install 'lineage-graph[mlflow]'"
        ) from exc
    try:
        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    except Exception as exc:
        raise MlflowUnavailableError(f"cannot open MLflow at {tracking_uri}: {exc}") from exc


def _experiments(client: Any, names: list[str]) -> list[Any]:
    if not names:
        return list(_paged(lambda token: client.search_experiments(page_token=token)))
    found = []
    for name in names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None or experiment.lifecycle_stage != "active":
            raise InvalidRequestError(f"experiment {name!r}: no such active experiment",
                                      field="experiment")
        found.append(experiment)
    return found


def _runs_page(client: Any, experiment_id: str, token: str | None) -> Any:
    return client.search_runs([experiment_id], page_token=token)


def _versions_page(client: Any, token: str | None) -> Any:
    # Every version of every registered model: no filter string, so no name needs quoting.
    return client.search_model_versions(page_token=token)


def _paged(search: Callable[[str | None], Any]) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = search(token)
        yield from page
        token = page.token
        if not token:
            return


class _Reader:
    """Per-run and per-version reads, with the lookups they share cached."""

    def __init__(self, client: Any, warnings: list[str]) -> None:
        self.client = client
        self.warnings = warnings
        self._experiment_names: dict[str, str] = {}

    def run(self, run: Any, experiment_name: str) -> MlflowRun:
        info, data = run.info, run.data
        inputs = []
        for dataset_input in getattr(run.inputs, "dataset_inputs", None) or []:
            ds = dataset_input.dataset
            tags = {t.key: t.value for t in dataset_input.tags or []}
            inputs.append(MlflowDataset(
                name=ds.name, digest=ds.digest, source_type=ds.source_type,
                source=_json_object(ds.source), schema=_json_object(ds.schema) or None,
                context=tags.get("mlflow.data.context")))
        return MlflowRun(
            run_id=info.run_id, naming=_naming(run, experiment_name), status=info.status,
            start_ms=info.start_time, end_ms=info.end_time,
            user=info.user_id or data.tags.get("mlflow.user"), artifact_uri=info.artifact_uri,
            params=dict(data.params), tags=dict(data.tags),
            inputs=tuple(sorted(inputs, key=lambda d: (d.name, d.digest))),
            metrics=self._latest_metrics(info.run_id, sorted(data.metrics)),
            parent=self._parent(data.tags.get("mlflow.parentRunId")))

    def _parent(self, parent_id: str | None) -> tuple[str, RunNaming] | None:
        if not parent_id:
            return None
        try:
            parent = self.client.get_run(parent_id)
            experiment_id = parent.info.experiment_id
            if experiment_id not in self._experiment_names:
                self._experiment_names[experiment_id] = self.client.get_experiment(
                    experiment_id).name
        except Exception as exc:  # deleted for good: the child stays, without its parent
            self.warnings.append(f"run {parent_id} (a parent run): cannot be read: {exc}")
            return None
        return parent_id, _naming(parent, self._experiment_names[experiment_id])

    def _latest_metrics(self, run_id: str, keys: list[str]) -> tuple[MlflowMetric, ...]:
        """MLflow's run view keeps one value per key; per-dataset values live in the history."""
        latest: dict[tuple[str, str | None], MlflowMetric] = {}
        for key in keys:
            for m in self.client.get_metric_history(run_id, key):
                metric = _metric(m, run_id)
                slot = (key, metric.dataset_name)
                if slot not in latest or is_newer(metric, latest[slot]):
                    latest[slot] = metric
        return tuple(latest[k] for k in sorted(latest, key=lambda s: (s[0], s[1] or "")))

    def model_version(self, mv: Any, root: Path | None) -> MlflowModelVersion:
        model_id = getattr(mv, "model_id", None) or _model_id_in(mv.source)
        logged = self._logged_model(model_id)
        location = _local_path(mv.source) or (
            _local_path(logged.artifact_location) if logged is not None else None)
        if location is None and mv.source.startswith("runs:/") and mv.run_id:
            location = self._run_artifacts(mv.run_id, mv.source)
        found = artifact_digest(location, root, model_id or mv.source)
        if found.warning:
            self.warnings.append(f"model {mv.name} version {mv.version}: {found.warning}")
        return MlflowModelVersion(
            name=mv.name, version=str(mv.version), run_id=mv.run_id or None,
            model_id=model_id, source=mv.source, status=str(mv.status),
            created_ms=int(mv.creation_timestamp), digest=found.digest, format=found.format,
            tensors=found.tensors,
            metrics=tuple(_metric(m, None) for m in (getattr(logged, "metrics", None) or [])))

    def _run_artifacts(self, run_id: str, source: str) -> Path | None:
        """Where ``runs:/<run id>/<path>`` points, when the run's artifacts are local."""
        try:
            run_root = _local_path(self.client.get_run(run_id).info.artifact_uri)
        except Exception:  # the run was deleted for good: the version stays, unhashed
            return None
        relative = source.removeprefix("runs:/").partition("/")[2]
        return None if run_root is None else run_root / relative

    def _logged_model(self, model_id: str | None) -> Any:
        if not model_id or not hasattr(self.client, "get_logged_model"):
            return None
        try:
            return self.client.get_logged_model(model_id)
        except Exception:  # a model version may outlive its logged model
            return None


def _naming(run: Any, experiment_name: str) -> RunNaming:
    name = run.info.run_name or run.info.run_id
    return RunNaming(experiment=experiment_name, run_name=name,
                     source_name=run.data.tags.get("mlflow.source.name") or name,
                     experiment_id=str(run.info.experiment_id))


def is_newer(a: MlflowMetric, b: MlflowMetric) -> bool:
    """MLflow's "latest": the larger step, then the later time; the value breaks exact ties so
    the choice never depends on the order the store answers in."""
    return (a.step, a.timestamp_ms, _sortable(a.value)) >= (b.step, b.timestamp_ms,
                                                           _sortable(b.value))


def _sortable(value: float) -> float:
    return -math.inf if math.isnan(value) else value


def _metric(m: Any, run_id: str | None) -> MlflowMetric:
    return MlflowMetric(key=m.key, value=float(m.value), timestamp_ms=int(m.timestamp),
                        step=int(m.step or 0), run_id=getattr(m, "run_id", None) or run_id,
                        dataset_name=getattr(m, "dataset_name", None) or None,
                        dataset_digest=getattr(m, "dataset_digest", None) or None)


def _model_id_in(source: str) -> str | None:
    """The logged model a version's source names (``models:/m-...`` or a logged model's
    artifact folder): some registry stores do not keep the version's model id."""
    found = _LOGGED_MODEL_SOURCE.search(source)
    return found.group(1) if found else None


def _local_path(uri: str | None) -> Path | None:
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and os.path.isabs(uri):
        return Path(uri)
    return None


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 62, version)


def _json_object(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
