"""The importers' pure mappings, without MLflow or DVC: dataset names from MLflow sources,
run ids, job name templates, --since, and the DVC lock state's identity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_graph.errors import InvalidRequestError
from lineage_graph.importers.dvc_lock_history import lock_digest
from lineage_graph.importers.mlflow_events import dataset_identity, job_name, openlineage_run_id
from lineage_graph.importers.mlflow_reader import MlflowDataset, RunNaming
from lineage_graph.importers.since import parse_since


def _dataset(source_type: str, source: dict[str, str]) -> MlflowDataset:
    return MlflowDataset(name="frames", digest="d1", source_type=source_type, source=source,
                         schema=None, context="training")


@pytest.mark.parametrize(("source_type", "source", "expected"), [
    ("http", {"url": "https://data.example.com/frames/day.tar"},
     ("https://data.example.com", "/frames/day.tar")),
    ("http", {"url": "https://ana:s3cret@data.example.com:8443/day.tar?sig=x"},
     ("https://data.example.com:8443", "/day.tar")),  # credentials never reach the graph
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


NAMING = RunNaming(experiment="detector", run_name="bold-hawk-7", source_name="train.py",
                   experiment_id="1")


def test_job_names_follow_the_template() -> None:
    assert job_name(NAMING, "{experiment}/{run_name}") == "detector/bold-hawk-7"
    assert job_name(NAMING, "{experiment}/{source_name}") == "detector/train.py"
    for bad in ("{owner}/{run_name}", "{experiment.x}", "{run_name!z}", "{"):
        with pytest.raises(InvalidRequestError, match="job name template"):
            job_name(NAMING, bad)


def test_since_takes_dates_times_and_ages() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)  # no zone: UTC
    assert parse_since("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    with pytest.raises(InvalidRequestError, match="--since 'yesterday'"):
        parse_since("yesterday")


_HASHES = st.text("0123456789abcdef", min_size=32, max_size=32)
_CMDS = st.text(max_size=40)


@given(cmd=_CMDS, other_cmd=_CMDS, raw=_HASHES, other=_HASHES, split=st.floats(0, 1))
def test_a_lock_state_is_its_cmd_params_and_hashes(
        cmd: str, other_cmd: str, raw: str, other: str, split: float) -> None:
    def entry(cmd: str, raw_hash: str, split: float, dvc3: bool = True) -> dict[str, object]:
        dep = {"path": "data/raw.csv", "md5": raw_hash, "size": 12}
        return {"cmd": cmd, "params": {"params.yaml": {"split": split}},
                "deps": [{**dep, "hash": "md5"} if dvc3 else dep],
                "outs": [{"path": "prepared", "md5": f"{raw_hash}.dir", "nfiles": 1}]}

    base = lock_digest(entry(cmd, raw, split))
    # What DVC 2 and 3 write differently (the hash name, sizes) is not part of the state...
    assert lock_digest(entry(cmd, raw, split, dvc3=False)) == base
    # ...a changed command, dep hash or param is.
    assert (lock_digest(entry(other_cmd, raw, split)) == base) == (cmd == other_cmd)
    assert (lock_digest(entry(cmd, other, split)) == base) == (raw == other)
    assert lock_digest(entry(cmd, raw, split + 1)) != base
