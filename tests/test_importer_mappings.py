"""The importers' pure mappings, without MLflow or DVC: dataset names from MLflow sources,
run ids, job name templates, --since, and the DVC lock state's identity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_graph.errors import InvalidRequestError
from lineage_graph.importers.dvc_events import lock_digest
from lineage_graph.importers.dvc_reader import DvcArtifact, DvcStage
from lineage_graph.importers.mlflow_events import dataset_identity, job_name, openlineage_run_id
from lineage_graph.importers.mlflow_reader import MlflowDataset, MlflowRun
from lineage_graph.importers.since import parse_since


def _dataset(source_type: str, source: dict[str, str]) -> MlflowDataset:
    return MlflowDataset(name="frames", digest="d1", source_type=source_type, source=source,
                         schema=None, context="training")


@pytest.mark.parametrize(("source_type", "source", "expected"), [
    ("http", {"url": "https://data.example.com/frames/day.tar"},
     ("https://data.example.com", "/frames/day.tar")),
    ("s3", {"uri": "s3://bucket/frames/day"}, ("s3://bucket", "/frames/day")),
    ("local", {"uri": "/data/frames.parquet"}, ("file", "/data/frames.parquet")),
    ("local", {"uri": "file:///data/frames.parquet"}, ("file", "/data/frames.parquet")),
    ("huggingface", {"path": "org/frames", "split": "train"}, ("huggingface", "org/frames")),
    ("code", {}, ("mlflow", "datasets/frames")),
    ("delta_table", {"delta_table_name": "frames"}, ("mlflow", "datasets/frames")),
])
def test_an_mlflow_dataset_is_named_from_its_source(
        source_type: str, source: dict[str, str], expected: tuple[str, str]) -> None:
    assert dataset_identity(_dataset(source_type, source), "mlflow") == expected


def test_mlflow_run_ids_are_their_uuid_and_anything_else_hashes_stably() -> None:
    assert openlineage_run_id("6465b6a736a346a7a2ec9275521d90e3") == (
        "6465b6a7-36a3-46a7-a2ec-9275521d90e3")
    other = openlineage_run_id("run-17")
    assert uuid.UUID(other).version == 5 and other == openlineage_run_id("run-17")


def _run(**tags: str) -> MlflowRun:
    return MlflowRun(run_id="a" * 32, experiment_id="1", experiment_name="detector",
                     run_name="bold-hawk-7", status="FINISHED", start_ms=0, end_ms=1, user=None,
                     artifact_uri=None, params={}, tags=tags, inputs=(), metrics=())


def test_job_names_follow_the_template() -> None:
    assert job_name(_run(), "{experiment}/{run_name}") == "detector/bold-hawk-7"
    assert job_name(_run(**{"mlflow.source.name": "train.py"}),
                    "{experiment}/{source_name}") == "detector/train.py"
    with pytest.raises(InvalidRequestError, match=r"\{owner\}|'owner'"):
        job_name(_run(), "{owner}/{run_name}")


def test_since_takes_dates_times_and_ages() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)  # no zone: UTC
    assert parse_since("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    with pytest.raises(InvalidRequestError, match="--since 'yesterday'"):
        parse_since("yesterday")


_HASHES = st.text("0123456789abcdef", min_size=32, max_size=32)


@given(cmd=st.text(max_size=40), raw=_HASHES, out=_HASHES, other=_HASHES)
def test_a_lock_state_is_identified_by_cmd_params_and_hashes(
        cmd: str, raw: str, out: str, other: str) -> None:
    def stage(raw_hash: str, since: datetime | None = None) -> DvcStage:
        return DvcStage(name="prepare", dvcfile="dvc.yaml", cmd=cmd,
                        deps=(DvcArtifact("data/raw.csv", "md5", raw_hash),),
                        outs=(DvcArtifact("prepared", "md5", out + ".dir"),),
                        params={"params.yaml": {"split": 0.2}}, since=since)

    # Where and when it was read does not change the state; a changed dep hash does.
    assert lock_digest(stage(raw)) == lock_digest(stage(raw, datetime.now(UTC)))
    assert (lock_digest(stage(raw)) == lock_digest(stage(other))) == (raw == other)
