"""Read an MLflow tracking store or server with the ``mlflow`` package's client (the optional
``lineage-graph[mlflow]`` extra) into plain snapshots: the only module that imports ``mlflow``.

What is read: experiments (all active ones, or those named), their active runs with params, tags,
dataset inputs and the latest value of every metric per evaluation dataset (MLflow keeps
per-dataset metrics under one key, so the history is read), logged models with their metrics,
and registered model versions whose source run was read. A model version's digest is the
lineage-graph fingerprint of its artifacts when they are on a local path (file store, local
artifact root); otherwise ``mlflow:<model id or source>``, an identity rather than a content hash
(docs/importers.md says so).
"""

from __future__ import annotations

import json
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
    value: float
    timestamp_ms: int
    step: int
    run_id: str | None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class MlflowRun:
    run_id: str
    experiment_id: str
    experiment_name: str
    run_name: str
    status: str  # RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_ms: int
    end_ms: int | None
    user: str | None
    artifact_uri: str | None
    params: dict[str, str]
    tags: dict[str, str]
    inputs: tuple[MlflowDataset, ...]
    metrics: tuple[MlflowMetric, ...]  # latest per (key, dataset name)


@dataclass(frozen=True)
class MlflowModelVersion:
    name: str
    version: str
    run_id: str | None
    model_id: str | None
    source: str
    status: str
    created_ms: int
    updated_ms: int
    digest: str
    format: str  # safetensors, bytes, directory, reference
    tensors: dict[str, str] | None
    aliases: tuple[str, ...] = ()
    metrics: tuple[MlflowMetric, ...] = ()  # the logged model's metrics (MLflow 3)


@dataclass
class MlflowSnapshot:
    runs: list[MlflowRun] = field(default_factory=list)
    model_versions: list[MlflowModelVersion] = field(default_factory=list)


def read_mlflow(tracking_uri: str, experiments: Iterable[str] = (),
                since: datetime | None = None, progress: Progress | None = None
                ) -> MlflowSnapshot:
    """Everything the import needs, read once. ``since`` keeps runs started, ended or still
    running at or after it, and runs whose registered model versions changed since."""
    client = _client(tracking_uri)
    since_ms = None if since is None else int(since.timestamp() * 1000)
    try:
        selected = _experiments(client, list(experiments))
        versions = _model_versions(client, tracking_uri, progress)
        changed_version_runs = {v.run_id for v in versions
                                if since_ms is None or v.updated_ms >= since_ms}
        snapshot = MlflowSnapshot()
        for experiment in selected:
            if progress is not None:
                progress(f"experiment {experiment.name}")
            for run in _paged(partial(_runs_page, client, experiment.experiment_id)):
                info = run.info
                if since_ms is not None and not (
                        info.start_time >= since_ms or info.end_time is None
                        or info.end_time >= since_ms or info.run_id in changed_version_runs):
                    continue
                snapshot.runs.append(_run(client, run, experiment.name))
        read_ids = {r.run_id for r in snapshot.runs}
        snapshot.model_versions = [v for v in versions if v.run_id in read_ids]
        return snapshot
    except LineageGraphError:
        raise
    except Exception as exc:  # mlflow raises its own and its stores' errors
        raise MlflowUnavailableError(f"cannot read MLflow at {tracking_uri}: {exc}") from exc


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


def _versions_page(client: Any, model_name: str, token: str | None) -> Any:
    # MLflow's filter strings have no escapes: quote with the quote the name does not hold.
    quote = '"' if "'" in model_name else "'"
    return client.search_model_versions(f"name={quote}{model_name}{quote}", page_token=token)


def _paged(search: Callable[[str | None], Any]) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = search(token)
        yield from page
        token = page.token
        if not token:
            return


def _run(client: Any, run: Any, experiment_name: str) -> MlflowRun:
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
        run_id=info.run_id, experiment_id=info.experiment_id, experiment_name=experiment_name,
        run_name=info.run_name or info.run_id, status=info.status, start_ms=info.start_time,
        end_ms=info.end_time, user=info.user_id or data.tags.get("mlflow.user"),
        artifact_uri=info.artifact_uri, params=dict(data.params), tags=dict(data.tags),
        inputs=tuple(sorted(inputs, key=lambda d: (d.name, d.digest))),
        metrics=_latest_metrics(client, info.run_id, sorted(data.metrics)))


def _latest_metrics(client: Any, run_id: str, keys: list[str]) -> tuple[MlflowMetric, ...]:
    """MLflow's run view keeps one value per key; per-dataset values live in the history."""
    latest: dict[tuple[str, str | None], MlflowMetric] = {}
    for key in keys:
        for m in client.get_metric_history(run_id, key):
            metric = _metric(m, run_id)
            slot = (key, metric.dataset_name)
            current = latest.get(slot)
            if current is None or (metric.step, metric.timestamp_ms) >= (current.step,
                                                                         current.timestamp_ms):
                latest[slot] = metric
    return tuple(latest[k] for k in sorted(latest, key=lambda s: (s[0], s[1] or "")))


def _metric(m: Any, run_id: str | None) -> MlflowMetric:
    return MlflowMetric(key=m.key, value=float(m.value), timestamp_ms=int(m.timestamp),
                        step=int(m.step or 0), run_id=getattr(m, "run_id", None) or run_id,
                        dataset_name=getattr(m, "dataset_name", None) or None,
                        dataset_digest=getattr(m, "dataset_digest", None) or None)


def _model_versions(client: Any, tracking_uri: str, progress: Progress | None
                    ) -> list[MlflowModelVersion]:
    out = []
    for registered in _paged(lambda token: client.search_registered_models(page_token=token)):
        if progress is not None:
            progress(f"registered model {registered.name}")
        for mv in _paged(partial(_versions_page, client, registered.name)):
            model_id = getattr(mv, "model_id", None) or _model_id_in(mv.source)
            logged = _logged_model(client, model_id)
            location = _local_path(mv.source) or (
                _local_path(logged.artifact_location) if logged is not None else None)
            if location is None and mv.source.startswith("runs:/") and mv.run_id:
                run_root = _local_path(client.get_run(mv.run_id).info.artifact_uri)
                relative = mv.source.split("/", 2)[-1].partition("/")[2]
                location = None if run_root is None else run_root / relative
            digest, fmt, tensors = _digest(location, model_id or mv.source)
            out.append(MlflowModelVersion(
                name=mv.name, version=str(mv.version), run_id=mv.run_id or None,
                model_id=model_id, source=mv.source,
                status=str(mv.status), created_ms=int(mv.creation_timestamp),
                updated_ms=int(mv.last_updated_timestamp or mv.creation_timestamp),
                digest=digest, format=fmt, tensors=tensors,
                aliases=tuple(sorted(getattr(mv, "aliases", None) or [])),
                metrics=tuple(_metric(m, None) for m in
                              (getattr(logged, "metrics", None) or []))))
    return sorted(out, key=lambda v: (v.name, _version_order(v.version)))


def _model_id_in(source: str) -> str | None:
    """The logged model a version's source names (``models:/m-...`` or a logged model's
    artifact folder): some registry stores do not keep the version's model id."""
    found = _LOGGED_MODEL_SOURCE.search(source)
    return found.group(1) if found else None


def _logged_model(client: Any, model_id: str | None) -> Any:
    if not model_id or not hasattr(client, "get_logged_model"):
        return None
    try:
        return client.get_logged_model(model_id)
    except Exception:  # a model version may outlive its logged model
        return None


def _local_path(uri: str | None) -> Path | None:
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and os.path.isabs(uri):
        return Path(uri)
    return None


def _digest(location: Path | None, identity: str) -> tuple[str, str, dict[str, str] | None]:
    """(digest, format, tensor digests) of a model version's artifacts."""
    from lineage_graph.ml.fingerprint import fingerprint

    if location is not None and location.is_file():
        found = fingerprint(location)
        return found.digest, found.format, found.tensor_digests() or None
    if location is not None and location.is_dir():
        if any(location.rglob("*.safetensors")):
            found = fingerprint(location)
            return found.digest, found.format, found.tensor_digests() or None
        files = sorted(p for p in location.rglob("*") if p.is_file())
        if files:
            return _directory_digest(location, files), "directory", None
    return f"mlflow:{identity}", "reference", None


def _directory_digest(root: Path, files: list[Path]) -> str:
    """sha256 of the sorted ``relative path<TAB>sha256 of the file's bytes`` lines."""
    import hashlib

    lines = []
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        lines.append(f"{file.relative_to(root).as_posix()}\t{digest.hexdigest()}\n")
    return "sha256:" + hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


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
