"""What the lineage costs to keep (docs/costs.md): `lineage-graph stats`, the usage gauges on
/metrics, budgets as gauges and as /healthz warnings."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from lineage_graph.settings import Settings
from lineage_graph.usage.service import UsageService
from tests.conftest import LOCAL_BASE_URL, query
from tests.events import pipeline
from tests.serving import free_port
from tests.test_cli import cli


def _ingest_pipeline(db: Database) -> int:
    events = pipeline(n_runs=2)
    result = IngestService(db).ingest_raw([(e, None) for e in events])
    assert result.count("accepted") == len(events)
    return len(events)


def test_stats_count_what_the_graph_holds(db: Database, neo4j_server: Settings) -> None:
    received = _ingest_pipeline(db)
    found = UsageService(db, neo4j_server).stats(days=3).as_dict()
    [truth] = query(db, """
        MATCH (n) WITH count(n) AS nodes
        MATCH ()-[r]->() WITH nodes, count(r) AS relationships
        MATCH (e:Event) RETURN nodes, relationships, count(e) AS records,
                               sum(size(e.raw)) AS bytes""")
    assert found["nodes"] == truth["nodes"] > 0
    assert found["relationships"] == truth["relationships"] > 0
    assert found["records"] == truth["records"] == received
    assert found["recordBytes"] == truth["bytes"]
    assert found["recordsByType"] == {"openlineage": {"records": received,
                                                      "bytes": truth["bytes"]}}
    runs = query(db, "MATCH (r:Run) RETURN count(r) AS n")[0]["n"]
    assert found["nodesByLabel"]["Run"] == runs
    assert found["relationshipsByType"]["HAS_RUN"] == query(
        db, "MATCH ()-[r:HAS_RUN]->() RETURN count(r) AS n")[0]["n"]
    assert found["bytesPerRecord"] == round(truth["bytes"] / received, 1)
    today = datetime.now(UTC).date().isoformat()
    assert [d["day"] for d in found["recordsPerDay"]][-1] == today
    assert found["recordsPerDay"][-1]["records"] == found["recordsLastDay"] == received
    assert len(found["recordsPerDay"]) == 3
    if neo4j_server.managed:
        assert found["storeBytes"] > 0 and found["transactionLogBytes"] > 0
        assert found["storeBytesPerRecord"] == round(found["storeBytes"] / received, 1)
    assert found["budgets"] == {"recordsPerDay": None, "storeBytes": None}
    assert found["exceeded"] == {}


def test_the_stats_command_prints_them_as_json_or_text(db: Database,
                                                       neo4j_server: Settings) -> None:
    received = _ingest_pipeline(db)
    done = cli(neo4j_server, "stats", "--json", "--days", "2")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["records"] == received and len(found["recordsPerDay"]) == 2
    text = cli(neo4j_server, "stats", LINEAGE_GRAPH_BUDGET_RECORDS_PER_DAY="1")
    assert text.returncode == 0, text.stderr
    assert f"records: {received}" in text.stdout
    assert "over budget: " in text.stdout and "LINEAGE_GRAPH_BUDGET_RECORDS_PER_DAY" in text.stdout
    refused = cli(neo4j_server, "stats", "--days", "0")
    assert refused.returncode == 1 and "--days must be at least 1" in refused.stderr


def test_an_exceeded_budget_is_a_gauge_and_a_health_warning(db: Database,
                                                           neo4j_server: Settings) -> None:
    from lineage_graph.web.app import create_app

    received = _ingest_pipeline(db)
    tight = replace(neo4j_server, budget_records_per_day=received - 1,
                    budget_store_bytes=1 if neo4j_server.managed else None)
    with TestClient(create_app(tight), base_url=LOCAL_BASE_URL) as client:
        health = client.get("/healthz")
        assert health.status_code == 200  # a warning, not an outage
        warnings = health.json()["warnings"]
        assert any(f"{received} records received in the last 24 h" in w for w in warnings)
        metrics = client.get("/metrics").text
    assert 'lineage_graph_budget_exceeded{budget="recordsPerDay"} 1.0' in metrics
    assert f'lineage_graph_budget{{budget="recordsPerDay"}} {float(received - 1)}' in metrics
    assert f"lineage_graph_records_last_day {float(received)}" in metrics
    assert 'lineage_graph_nodes{label="Run"}' in metrics
    if neo4j_server.managed:
        assert 'lineage_graph_budget_exceeded{budget="storeBytes"} 1.0' in metrics
        assert len(warnings) == 2
    roomy = replace(neo4j_server, budget_records_per_day=received)
    with TestClient(create_app(roomy), base_url=LOCAL_BASE_URL) as client:
        assert "warnings" not in client.get("/healthz").json()
        assert 'lineage_graph_budget_exceeded{budget="recordsPerDay"} 0.0' in client.get(
            "/metrics").text


def test_budgets_are_positive_integers_or_unset() -> None:
    assert Settings.from_env({}).budget_records_per_day is None
    assert Settings.from_env({"LINEAGE_GRAPH_BUDGET_STORE_BYTES": "5000000000"}
                             ).budget_store_bytes == 5_000_000_000
    with pytest.raises(ValueError, match="LINEAGE_GRAPH_BUDGET_RECORDS_PER_DAY must be a"):
        Settings.from_env({"LINEAGE_GRAPH_BUDGET_RECORDS_PER_DAY": "-3"})
    with pytest.raises(ValueError, match="must be an integer"):
        Settings.from_env({"LINEAGE_GRAPH_BUDGET_STORE_BYTES": "5GB"})


def test_metrics_and_health_still_answer_while_neo4j_is_down(tmp_path: Path) -> None:
    """The usage gauges read Neo4j in one attempt: while it is down, /metrics answers (with the
    spool figures) instead of waiting out the driver's retry window (here 600 s)."""
    from lineage_graph.web.app import create_app

    down = Settings(neo4j_uri=f"bolt://127.0.0.1:{free_port()}", neo4j_password="unused",
                    neo4j_retry_seconds=600, spool_dir_override=tmp_path)
    answers: dict[str, int] = {}

    def scrape() -> None:
        with TestClient(create_app(down), base_url=LOCAL_BASE_URL) as client:
            answers["metrics"] = client.get("/metrics").status_code
            answers["health"] = client.get("/healthz").status_code

    scraper = threading.Thread(target=scrape, daemon=True)
    scraper.start()
    scraper.join(timeout=120)  # liveness, not speed: the retry window is five times longer
    assert answers == {"metrics": 200, "health": 503}
