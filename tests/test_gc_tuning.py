"""Long-running processes tune their interpreter once started (process_tuning.py): what
start-up built is frozen and the young generation is collected every
LINEAGE_GRAPH_GC_YOUNG_THRESHOLD allocations (gc_tuning.py), and a thread waiting for the GIL
gets it after LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US; 0 leaves either as Python sets it."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lineage_graph import gc_tuning, process_tuning
from lineage_graph.db.connection import Database
from lineage_graph.settings import Settings
from tests.events import T0, new_run_id, run_event
from tests.serving import served_api


@pytest.fixture()
def python_collector() -> Iterator[None]:
    """Python's collector as it was, after the test."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tuning_freezes_what_exists_and_raises_the_young_threshold(
        python_collector: None) -> None:
    _, middle, old = gc.get_threshold()
    assert gc_tuning.tune_collector(10_000)
    assert gc.get_freeze_count() > 1_000  # this process's modules, at least
    assert gc.get_threshold() == (10_000, middle, old)


def test_zero_leaves_the_collector_as_python_sets_it(python_collector: None) -> None:
    before = gc.get_threshold()
    assert not gc_tuning.tune_collector(0)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


@pytest.fixture()
def python_switch_interval() -> Iterator[None]:
    interval = sys.getswitchinterval()
    yield
    sys.setswitchinterval(interval)


def test_tuning_sets_the_switch_interval(
        python_switch_interval: None) -> None:
    assert process_tuning.tune_switch_interval(500)
    assert sys.getswitchinterval() == pytest.approx(0.0005)


def test_zero_leaves_the_switch_interval_as_python_sets_it(python_switch_interval: None) -> None:
    before = sys.getswitchinterval()
    assert not process_tuning.tune_switch_interval(0)
    assert sys.getswitchinterval() == before


def test_settings_read_the_switch_interval_from_the_environment() -> None:
    assert Settings.from_env({}).thread_switch_interval_us == 500
    assert Settings.from_env(
        {"LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US": "0"}).thread_switch_interval_us == 0
    with pytest.raises(ValueError,
                       match="LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US must be an integer"):
        Settings.from_env({"LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US": "0.5ms"})


@pytest.mark.parametrize("microseconds", [100, 100_000])
def test_a_switch_interval_within_bounds_is_taken(microseconds: int) -> None:
    env = {"LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US": str(microseconds)}
    assert Settings.from_env(env).thread_switch_interval_us == microseconds


@pytest.mark.parametrize("microseconds", [1, 99, 100_001, 10**12])
def test_a_switch_interval_out_of_bounds_is_refused(microseconds: int) -> None:
    """Constant hand-overs, or a busy thread keeping the event loop waiting (and CPython
    refuses huge values with an OverflowError at start-up, not with the setting's name)."""
    with pytest.raises(ValueError, match="LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US must be 0 "
                                         r"\(Python's own interval\) or 100 to 100000"):
        Settings.from_env({"LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US": str(microseconds)})


def test_settings_read_the_threshold_from_the_environment() -> None:
    assert Settings.from_env({}).gc_young_threshold == 10_000
    assert Settings.from_env({"LINEAGE_GRAPH_GC_YOUNG_THRESHOLD": "0"}).gc_young_threshold == 0
    with pytest.raises(ValueError, match="LINEAGE_GRAPH_GC_YOUNG_THRESHOLD must be an integer"):
        Settings.from_env({"LINEAGE_GRAPH_GC_YOUNG_THRESHOLD": "lots"})


def _gauge(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


def test_serve_tunes_its_interpreter_and_zero_turns_it_off(
        neo4j_server: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with served_api(neo4j_server) as url:
        assert _gauge(url, "lineage_graph_gc_frozen_objects") > 10_000
        assert _gauge(url, "lineage_graph_gc_young_threshold") == 10_000
        assert _gauge(url, "lineage_graph_thread_switch_interval_seconds") == 0.0005
    monkeypatch.setenv("LINEAGE_GRAPH_GC_YOUNG_THRESHOLD", "0")
    monkeypatch.setenv("LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US", "0")
    with served_api(neo4j_server) as url:
        assert _gauge(url, "lineage_graph_gc_frozen_objects") == 0
        assert _gauge(url, "lineage_graph_gc_young_threshold") == 700
        assert _gauge(url, "lineage_graph_thread_switch_interval_seconds") == 0.005


def test_the_ingest_command_tunes_its_interpreter(
        neo4j_server: Settings, db: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage_graph.cli.app import app

    tuned: list[int] = []
    switched: list[int] = []
    monkeypatch.setattr(gc_tuning, "tune_collector", tuned.append)
    monkeypatch.setattr(process_tuning, "tune_switch_interval", switched.append)
    for name, value in (("LINEAGE_GRAPH_HOME", str(neo4j_server.home)),
                        ("LINEAGE_GRAPH_NEO4J_INSTANCE", neo4j_server.instance),
                        ("LINEAGE_GRAPH_NEO4J_BOLT_PORT", str(neo4j_server.bolt_port)),
                        ("LINEAGE_GRAPH_NEO4J_HTTP_PORT", str(neo4j_server.http_port)),
                        ("LINEAGE_GRAPH_GC_YOUNG_THRESHOLD", "12345"),
                        ("LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US", "750")):
        monkeypatch.setenv(name, value)
    events = tmp_path / "events.json"
    events.write_text(json.dumps([run_event("COMPLETE", new_run_id(), ("cli", "job"), T0)]))
    result = CliRunner().invoke(app, ["ingest", str(events)])
    assert result.exit_code == 0, result.output
    assert (tuned, switched) == ([12345], [750])
