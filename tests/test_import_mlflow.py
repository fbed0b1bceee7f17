"""`lineage-graph import mlflow` against a real MLflow store (sqlite, made here with the mlflow
client): runs with dataset inputs, per-dataset metrics, logged models with real safetensors
weights and two registered versions of one model. What it imports is in the record and answers
the forensic questions: the model version's lineage reaches the MLflow dataset inputs, and
regressionSuspects names the dataset version that changed. Re-importing changes nothing; a run
that changed since is updated."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ids import model_version_id
from lineage_graph.ml.fingerprint import fingerprint
from lineage_graph.settings import Settings
from tests.conftest import graph_snapshot, graphql_data, query
from tests.optional_extras import require_extra
from tests.test_cli import cli

mlflow = require_extra("mlflow", "mlflow")

EXPERIMENT = "detector-training"
DAY = "https://data.example.com/frames/day.tar"
NIGHT = "https://data.example.com/frames/night.tar"
# mAP per evaluation dataset: v2 holds up by day and collapses at night (the planted regression).
SCORES = {"1": {"frames-day": 0.71, "frames-night": 0.64},
          "2": {"frames-day": 0.72, "frames-night": 0.31}}


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


@dataclass
class Store:
    uri: str
    client: Any  # mlflow.MlflowClient
    run_ids: dict[str, str]  # "explore", "1", "2" -> MLflow run id
    model_ids: dict[str, str]  # version -> logged model id
    model_dirs: dict[str, Path]  # version -> artifact folder


def _weights(folder: Path, version: str) -> None:
    """v2 keeps v1's backbone and retrains the head: real safetensors files."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    backbone = np.random.default_rng(7).standard_normal(256).astype(np.float32)
    head = np.random.default_rng(int(version)).standard_normal(64).astype(np.float32)
    save_file({"backbone.weight": backbone, "head.weight": head},
              str(folder / "model.safetensors"))
    (folder / "MLmodel").write_text(f"artifact_path: model\nversion: {version}\n")


def _dataset(name: str, url: str, digest: str) -> Any:
    from mlflow.data.http_dataset_source import HTTPDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    schema = {"mlflow_colspec": [{"name": "frame_id", "type": "string"},
                                 {"name": "label", "type": "long"}]}
    from mlflow.types import Schema

    return MetaDataset(source=HTTPDatasetSource(url), name=name, digest=digest,
                       schema=Schema.from_json(json.dumps(schema["mlflow_colspec"])))


def _log_inputs(client: Any, run_id: str, datasets: list[Any]) -> None:
    from mlflow.entities import DatasetInput, InputTag

    client.log_inputs(run_id, datasets=[
        DatasetInput(ds._to_mlflow_entity(), [InputTag("mlflow.data.context", "training")])
        for ds in datasets])


def _train(store: Store, experiment_id: str, version: str, night_digest: str, day: str) -> None:
    from mlflow.entities import Metric

    client = store.client
    start = _ms(day)
    run = client.create_run(experiment_id, start_time=start, run_name=f"train-v{version}",
                            tags={"mlflow.source.name": "train.py",
                                  "mlflow.source.git.commit": f"c0ffee{version}",
                                  "mlflow.source.git.repoURL": "https://git.example.com/det"})
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.01" if version == "1" else "0.005")
    days = _dataset("frames-day", DAY, "d1")
    nights = _dataset("frames-night", NIGHT, night_digest)
    _log_inputs(client, run_id, [days, nights])
    logged = client.create_logged_model(experiment_id, name="detector", source_run_id=run_id)
    folder = Path(logged.artifact_location.removeprefix("file://"))
    _weights(folder, version)
    # sqlite keys logged-model metrics by (model, name, time, step): one millisecond apart.
    client.log_batch(run_id, metrics=[
        Metric("mAP", SCORES[version][ds.name], start + 60_000 + i, 0, model_id=logged.model_id,
               dataset_name=ds.name, dataset_digest=ds.digest)
        for i, ds in enumerate((days, nights))] + [Metric("loss", 0.2, start + 1000, 0)])
    client.set_terminated(run_id, "FINISHED", end_time=start + 3_600_000)
    client.create_model_version("detector", source=logged.artifact_location, run_id=run_id)
    store.run_ids[version] = run_id
    store.model_ids[version] = logged.model_id
    store.model_dirs[version] = folder


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    made = Store(uri=uri, client=client, run_ids={}, model_ids={}, model_dirs={})
    experiment_id = client.create_experiment(
        EXPERIMENT, artifact_location=(tmp_path / "artifacts").as_uri())
    explore = client.create_run(experiment_id, start_time=_ms("2025-06-01"),
                                run_name="explore")
    client.log_metric(explore.info.run_id, "loss", 0.9, timestamp=_ms("2025-06-01"))
    client.set_terminated(explore.info.run_id, "FAILED", end_time=_ms("2025-06-02"))
    made.run_ids["explore"] = explore.info.run_id
    client.create_registered_model("detector")
    _train(made, experiment_id, "1", "n1", "2026-01-10")
    _train(made, experiment_id, "2", "n2", "2026-02-10")
    return made


def _import(settings: Settings, store: Store, *args: str) -> str:
    done = cli(settings, "import", "mlflow", "--tracking-uri", store.uri, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


MODEL = """query($name: String!, $version: String!) { modelVersion(name: $name, version: $version) {
  digest format tensorCount trainedBy { id state job { name } facets }
  metrics { name value slice { dimensions } } } }"""


def test_runs_datasets_model_versions_and_metrics_land_in_the_graph(
        db: Database, client: TestClient, neo4j_server: Settings, store: Store) -> None:
    printed = _import(neo4j_server, store)
    assert "read 3 MLflow runs and 2 registered model versions" in printed
    # Per run a START and a terminal event; per version measured, an evaluation child run's two.
    assert "rejected 0" in printed and "accepted 10" in printed
    for version in ("1", "2"):
        found = graphql_data(client, MODEL, name="detector", version=version)["modelVersion"]
        weights = fingerprint(store.model_dirs[version])
        assert (found["digest"], found["format"], found["tensorCount"]) == (
            weights.digest, "safetensors", 2)
        run = found["trainedBy"]
        assert run["job"]["name"] == f"{EXPERIMENT}/train-v{version}"
        assert run["id"].replace("-", "") == store.run_ids[version]
        assert run["state"] == "COMPLETE"
        mlflow_run = run["facets"]["mlflowRun"]
        assert mlflow_run["params"] == {"lr": "0.01" if version == "1" else "0.005"}
        assert mlflow_run["tags"]["mlflow.source.git.commit"] == f"c0ffee{version}"
        by_slice = {m["slice"]["dimensions"].get("dataset"): m["value"]
                    for m in found["metrics"] if m["name"] == "mAP"}
        assert by_slice == SCORES[version]
    # v1 and v2 share the backbone tensor, as fingerprints of the real files say.
    shared = set(fingerprint(store.model_dirs["1"]).tensor_digests().values()) & set(
        fingerprint(store.model_dirs["2"]).tensor_digests().values())
    assert len(shared) == 1
    # The failed exploratory run is a FAIL run; its params, tags and metrics ride along.
    facets = query(db, """MATCH (r:Run {state: 'FAIL'})-[:HAS_FACET]->(f:Facet {name: 'mlflowRun'})
                          RETURN f.payload AS payload""")
    assert [json.loads(f["payload"])["metrics"][0]["key"] for f in facets] == ["loss"]
    # In the record: one ledger record per accepted event, and the chain verifies.
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n")[0]["n"] == 10
    assert graphql_data(client, "{ verifyLedger { ok } }")["verifyLedger"]["ok"] is True


def test_model_version_lineage_reaches_the_mlflow_dataset_inputs(
        db: Database, client: TestClient, neo4j_server: Settings, store: Store) -> None:
    _import(neo4j_server, store)
    graph = graphql_data(client, """query($id: ID!) { lineage(nodeId: $id, direction: UPSTREAM,
        depth: 6, level: VERSION) { nodes { kind name } } }""",
                     id=model_version_id("detector", "2"))["lineage"]
    versions = {n["name"] for n in graph["nodes"] if n["kind"] == "DATASET_VERSION"}
    assert {"/frames/day.tar@d1", "/frames/night.tar@n2"} <= versions
    assert "/frames/night.tar@n1" not in versions  # v1's night frames fed v1 only
    fields = query(db, """MATCH (d:Dataset {namespace: 'https://data.example.com',
                            name: '/frames/night.tar'})-[:HAS_FIELD]->(f:Field)
                          RETURN f.name AS name ORDER BY name""")
    assert [f["name"] for f in fields] == ["frame_id", "label"]  # the MLflow dataset schema


def test_regression_suspects_name_the_changed_dataset_version(
        db: Database, client: TestClient, neo4j_server: Settings, store: Store) -> None:
    _import(neo4j_server, store)
    report = graphql_data(client, """{ regressionSuspects(model: "detector", version: "2",
        baseline: "1", metric: "mAP") { regressed baselineValue candidateValue
        suspects { rank kind node { name } reason } } }""")["regressionSuspects"]
    assert report["regressed"] is True
    # No overall value was logged: the mean over the evaluation datasets both versions measured.
    assert report["baselineValue"] == pytest.approx((0.71 + 0.64) / 2)
    assert report["candidateValue"] == pytest.approx((0.72 + 0.31) / 2)
    top = report["suspects"][0]
    assert (top["rank"], top["kind"], top["node"]["name"]) == (
        1, "DATASET_VERSION", "/frames/night.tar@n2")
    # The run trained v2 and measured it: v2 is not one of its own training inputs.
    assert "50% of the training data came through it" in top["reason"]


def test_reimporting_changes_nothing_and_a_changed_run_is_updated(
        db: Database, client: TestClient, neo4j_server: Settings, store: Store) -> None:
    from mlflow.entities import Metric

    _import(neo4j_server, store)
    before = graph_snapshot(db)
    again = _import(neo4j_server, store)
    assert "accepted 0, duplicate 10, rejected 0" in again
    assert graph_snapshot(db) == before
    # Later (after the versions were registered), v2 is re-evaluated on the night frames: the
    # run's own event and its evaluation's COMPLETE are re-sent, newer, with the new value.
    import time

    run_v2 = store.run_ids["2"]
    store.client.log_batch(run_v2, metrics=[Metric(
        "mAP", 0.33, int(time.time() * 1000) + 1000, 0, model_id=store.model_ids["2"],
        dataset_name="frames-night", dataset_digest="n2")])
    changed = _import(neo4j_server, store)
    assert "accepted 2, duplicate 8, rejected 0" in changed
    found = graphql_data(client, MODEL, name="detector", version="2")["modelVersion"]
    night = [m["value"] for m in found["metrics"]
             if m["slice"]["dimensions"].get("dataset") == "frames-night"]
    assert night == [0.33]
    latest = {m["key"]: m["value"]
              for m in found["trainedBy"]["facets"]["mlflowRun"]["metrics"]}
    assert latest["mAP"] == 0.33


def test_experiment_and_since_select_what_is_read(neo4j_server: Settings, store: Store) -> None:
    # --since keeps runs active since then (and runs whose model versions changed since).
    dry = _import(neo4j_server, store, "--since", "2026-01-01", "--dry-run")
    assert "read 2 MLflow runs and 2 registered model versions: 8 events" in dry
    # The training runs are months old, but their model versions were created just now.
    recent = _import(neo4j_server, store, "--since", "1h", "--dry-run")
    assert "read 2 MLflow runs and 2 registered model versions" in recent
    everything = _import(neo4j_server, store, "--experiment", EXPERIMENT, "--dry-run")
    assert "read 3 MLflow runs" in everything
    unknown = cli(neo4j_server, "import", "mlflow", "--tracking-uri", store.uri,
                  "--experiment", "no-such-experiment")
    assert unknown.returncode == 1
    assert "experiment 'no-such-experiment': no such active experiment" in unknown.stderr
    bad_since = cli(neo4j_server, "import", "mlflow", "--tracking-uri", store.uri,
                    "--since", "last tuesday")
    assert bad_since.returncode == 1 and "--since 'last tuesday'" in bad_since.stderr


def test_an_unreachable_tracking_server_is_one_clear_error(neo4j_server: Settings) -> None:
    done = cli(neo4j_server, "import", "mlflow", "--tracking-uri", "http://127.0.0.1:9",
               MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="5")
    assert done.returncode == 1
    assert "cannot read MLflow at http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr


def test_events_go_through_the_api_when_asked(
        db: Database, api_url: str, neo4j_server: Settings, store: Store) -> None:
    printed = _import(neo4j_server, store, "--api", api_url)
    assert "accepted 10" in printed
    assert query(db, "MATCH (m:ModelVersion) RETURN count(m) AS n")[0]["n"] == 2


@pytest.fixture()
def odd_store(tmp_path: Path) -> Store:
    """What real stores hold besides the happy path: a parent run still running with a nested
    child run, a NaN metric, a version registered from a `runs:/` URI, and a version whose
    source points outside the experiment's artifact root (anyone who may register a model can
    name any path)."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'odd.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    made = Store(uri=uri, client=client, run_ids={}, model_ids={}, model_dirs={})
    experiment_id = client.create_experiment(
        "sweeps", artifact_location=(tmp_path / "artifacts").as_uri())
    parent = client.create_run(experiment_id, start_time=_ms("2026-04-01"), run_name="sweep")
    child = client.create_run(experiment_id, start_time=_ms("2026-04-01") + 1000,
                              run_name="trial-1",
                              tags={"mlflow.parentRunId": parent.info.run_id})
    client.log_metric(child.info.run_id, "loss", float("nan"), timestamp=_ms("2026-04-02"))
    client.set_terminated(child.info.run_id, "FINISHED", end_time=_ms("2026-04-02"))
    _weights(Path(child.info.artifact_uri.removeprefix("file://")) / "model", "3")
    client.create_registered_model("trial")
    client.create_model_version("trial", source=f"runs:/{child.info.run_id}/model",
                                run_id=child.info.run_id)
    secret = tmp_path / "secret.txt"
    secret.write_text("not a model")
    client.create_registered_model("leaky")
    client.create_model_version("leaky", source=str(secret), run_id=child.info.run_id)
    made.run_ids.update(sweep=parent.info.run_id, trial=child.info.run_id)
    made.model_dirs["trial"] = Path(child.info.artifact_uri.removeprefix("file://")) / "model"
    return made


def test_nested_running_nan_runs_uri_and_foreign_paths(
        db: Database, client: TestClient, neo4j_server: Settings, odd_store: Store) -> None:
    done = cli(neo4j_server, "import", "mlflow", "--tracking-uri", odd_store.uri)
    assert done.returncode == 0, done.stderr
    assert "rejected 0" in done.stdout  # the NaN metric did not get the run refused
    assert "outside the experiment's artifact root; not read" in done.stderr
    trial = graphql_data(client, MODEL, name="trial", version="1")["modelVersion"]
    assert trial["digest"] == fingerprint(odd_store.model_dirs["trial"]).digest  # runs:/ URI
    leaky = graphql_data(client, MODEL, name="leaky", version="1")["modelVersion"]
    # An identity, not the hash of a file the importer had no business reading.
    assert leaky["format"] == "reference" and leaky["digest"].startswith("mlflow:")
    run = graphql_data(client, """query($id: ID!) { run(id: $id) { state facets
        parent { id state job { name } } } }""", id=_uuid(odd_store.run_ids["trial"]))["run"]
    assert run["state"] == "COMPLETE"
    assert run["facets"]["mlflowRun"]["metrics"][0]["value"] == "NaN"
    assert run["parent"] == {"id": _uuid(odd_store.run_ids["sweep"]), "state": "RUNNING",
                             "job": {"name": "sweeps/sweep"}}


def _uuid(mlflow_run_id: str) -> str:
    import uuid

    return str(uuid.UUID(hex=mlflow_run_id))
