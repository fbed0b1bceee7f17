"""The command line, run as a user runs it (a subprocess) against the real test Neo4j."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lineage_graph.db.connection import Database
from lineage_graph.neo4j_server import ManagedNeo4j
from lineage_graph.settings import Settings
from tests.conftest import query, require_managed
from tests.events import T0, new_run_id, pipeline, run_event
from tests.serving import free_port, served_api


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LINEAGE_GRAPH_HOME=str(settings.home),
        LINEAGE_GRAPH_NEO4J_INSTANCE=settings.instance,
        LINEAGE_GRAPH_NEO4J_BOLT_PORT=str(settings.bolt_port),
        LINEAGE_GRAPH_NEO4J_HTTP_PORT=str(settings.http_port),
    )
    env.update(extra)
    return env


def cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineage_graph", *args], capture_output=True,
                          text=True, env=_env(settings, **env), timeout=300, check=False)


@pytest.mark.parametrize("command", [
    [], ["serve"], ["ingest"], ["scene", "ingest"], ["neo4j", "up"], ["neo4j", "down"],
    ["neo4j", "status"], ["db", "migrate"], ["db", "rebuild"], ["api", "export"], ["cypher"],
    ["import"], ["import", "mlflow"], ["import", "dvc"],
])
def test_every_command_explains_itself(neo4j_server: Settings, command: list[str]) -> None:
    result = cli(neo4j_server, *command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout
    assert len(result.stdout.strip().splitlines()) > 3


def test_each_sub_app_is_one_module_of_cli() -> None:
    """`lineage-graph X ...` is written in one module of lineage_graph/cli/ per sub-app X, none
    of them the root app's (docs/development.md)."""
    from lineage_graph.cli.app import app

    owners: dict[str, str] = {}
    for group in app.registered_groups:
        assert group.typer_instance is not None and group.name is not None
        modules = {command.callback.__module__
                   for command in group.typer_instance.registered_commands if command.callback}
        assert len(modules) == 1, (group.name, modules)
        owners[group.name] = modules.pop()
    assert len(owners) >= 9
    assert len(set(owners.values())) == len(owners), owners
    assert all(m.startswith("lineage_graph.cli.") and m != "lineage_graph.cli.app"
               for m in owners.values()), owners


def test_ingest_files_reports_a_summary(neo4j_server: Settings, db: Database,
                                        tmp_path: Path) -> None:
    events = pipeline(n_runs=1)
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text("\n".join(json.dumps(e) for e in events))
    array = tmp_path / "more.json"
    array.write_text(json.dumps([events[0], run_event("START", new_run_id(), ("a", "b"), T0)]))
    result = cli(neo4j_server, "ingest", str(ndjson), str(array))
    assert result.returncode == 0, result.stderr
    assert f"accepted {len(events) + 1}, duplicate 1, rejected 0" in result.stdout
    assert query(db, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": len(events) + 1}]


def test_ingest_lists_rejections_and_exits_1(neo4j_server: Settings, db: Database,
                                             tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**run_event("START", new_run_id(), ("a", "b"), T0),
                                "eventTime": "not a time"}]))
    result = cli(neo4j_server, "ingest", str(bad))
    assert result.returncode == 1
    assert "eventTime" in result.stderr
    assert "rejected 1" in result.stdout


def test_db_migrate_and_rebuild(neo4j_server: Settings, db: Database, tmp_path: Path) -> None:
    events = pipeline(n_runs=1)
    path = tmp_path / "e.json"
    path.write_text(json.dumps(events))
    assert cli(neo4j_server, "ingest", str(path)).returncode == 0
    migrate = cli(neo4j_server, "db", "migrate")
    assert migrate.returncode == 0 and "schema up to date" in migrate.stdout
    rebuilt = cli(neo4j_server, "db", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"from {len(events)} records" in rebuilt.stdout
    assert query(db, "MATCH (r:Run) RETURN count(r) AS n") == [{"n": 3}]


def test_neo4j_up_is_idempotent_and_status_reports(neo4j_server: Settings) -> None:
    require_managed(neo4j_server, "NEO4J_URI points at an unmanaged server")
    before = ManagedNeo4j(neo4j_server).status()
    up = cli(neo4j_server, "neo4j", "up")
    assert up.returncode == 0
    assert up.stdout.strip() == neo4j_server.bolt_uri
    assert ManagedNeo4j(neo4j_server).status().pid == before.pid
    status = cli(neo4j_server, "neo4j", "status")
    assert status.returncode == 0 and status.stdout.startswith("running")


def test_the_managed_neo4j_keeps_bounded_transaction_logs(neo4j_server: Settings,
                                                           db: Database) -> None:
    """Neo4j keeps two days of transaction logs by default (327 MB after 8,000 events): the
    managed server keeps LINEAGE_GRAPH_NEO4J_TX_LOG_RETENTION beyond what recovery needs."""
    require_managed(neo4j_server, "NEO4J_URI points at an unmanaged server")
    config = {r["name"]: r["value"] for r in query(db, """CALL dbms.listConfig()
        YIELD name, value WHERE name STARTS WITH 'db.tx_log.rotation'
           OR name STARTS WITH 'db.checkpoint.interval' RETURN name, value""")}
    assert config["db.tx_log.rotation.retention_policy"] == neo4j_server.tx_log_retention
    assert config["db.tx_log.rotation.retention_policy"] == "128M size"  # the default
    assert config["db.tx_log.rotation.size"] == "64.00MiB"
    # Logs are pruned at checkpoints: taken every 2 minutes or 10,000 transactions.
    assert (config["db.checkpoint.interval.time"], config["db.checkpoint.interval.tx"]) == (
        "2m", "10000")
    with pytest.raises(ValueError, match="LINEAGE_GRAPH_NEO4J_TX_LOG_RETENTION='forever'"):
        Settings.from_env({"LINEAGE_GRAPH_NEO4J_TX_LOG_RETENTION": "forever"})
    assert Settings.from_env({"LINEAGE_GRAPH_NEO4J_TX_LOG_RETENTION": "7 days"}
                             ).tx_log_retention == "7 days"


def test_password_is_private_and_never_logged(neo4j_server: Settings) -> None:
    require_managed(neo4j_server, "NEO4J_URI points at an unmanaged server")
    manager = ManagedNeo4j(neo4j_server)
    mode = stat.S_IMODE(manager.password_file.stat().st_mode)
    assert mode == 0o600
    password = manager.password()
    for log in [manager.console_log, *(manager.dir / "logs").glob("*.log")]:
        assert password not in log.read_text(errors="replace"), log


def free_ports() -> dict[str, str]:
    """Bolt and HTTP ports nothing listens on: a new instance there fails for its own reason,
    not on a port the test Neo4j holds."""
    return {"LINEAGE_GRAPH_NEO4J_BOLT_PORT": str(free_port()),
            "LINEAGE_GRAPH_NEO4J_HTTP_PORT": str(free_port())}


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_missing_java_gives_a_one_line_error(neo4j_server: Settings, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    result = cli(neo4j_server, "neo4j", "up", LINEAGE_GRAPH_HOME=str(tmp_path / "home"),
                 PATH=str(bin_dir), **free_ports())
    assert_one_line_error(result, "Java is not installed")


def test_missing_maven_gives_a_one_line_error(neo4j_server: Settings, tmp_path: Path) -> None:
    java = shutil.which("java")
    assert java is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(java)
    result = cli(neo4j_server, "neo4j", "up", LINEAGE_GRAPH_HOME=str(tmp_path / "home"),
                 PATH=str(bin_dir), **free_ports())
    assert_one_line_error(result, "Maven (mvn) is not installed")


def test_failed_download_gives_a_one_line_error(neo4j_server: Settings, tmp_path: Path) -> None:
    # A Neo4j version Maven cannot resolve stands in for an unreachable repository.
    fake_mvn = tmp_path / "bin" / "mvn"
    fake_mvn.parent.mkdir()
    (fake_mvn.parent / "java").symlink_to(shutil.which("java") or "java")
    real_mvn = shutil.which("mvn")
    assert real_mvn is not None
    fake_mvn.symlink_to(real_mvn)
    result = cli(neo4j_server, "neo4j", "up", LINEAGE_GRAPH_HOME=str(tmp_path / "home"),
                 PATH=f"{fake_mvn.parent}:{os.environ.get('PATH', '')}",
                 LINEAGE_GRAPH_NEO4J_VERSION="5.26.999", **free_ports())
    assert_one_line_error(result, "downloading Neo4j 5.26.999 with Maven failed")


def test_nothing_is_managed_when_neo4j_uri_is_set(neo4j_server: Settings, tmp_path: Path) -> None:
    result = cli(neo4j_server, "neo4j", "up", NEO4J_URI="bolt://127.0.0.1:7688",
                 LINEAGE_GRAPH_HOME=str(tmp_path / "home"))
    assert result.returncode == 1
    assert "NEO4J_URI is set" in result.stderr
    assert not (tmp_path / "home").exists()


def test_neo4j_lifecycle_up_status_down(neo4j_server: Settings, tmp_path: Path) -> None:
    """A second managed instance, sharing the jar cache: up, idempotent up, status, down."""
    require_managed(neo4j_server, "NEO4J_URI points at an unmanaged server")
    env = {"LINEAGE_GRAPH_NEO4J_INSTANCE": "lifecycle-test",
           "LINEAGE_GRAPH_NEO4J_BOLT_PORT": "7698", "LINEAGE_GRAPH_NEO4J_HTTP_PORT": "7497",
           "LINEAGE_GRAPH_NEO4J_HEAP": "512m", "LINEAGE_GRAPH_NEO4J_PAGECACHE": "64m"}
    try:
        first = cli(neo4j_server, "neo4j", "up", **env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == "bolt://127.0.0.1:7698"
        pid = cli(neo4j_server, "neo4j", "status", **env).stdout.split("pid=")[1].split()[0]
        again = cli(neo4j_server, "neo4j", "up", **env)
        assert again.returncode == 0
        status = cli(neo4j_server, "neo4j", "status", **env)
        assert status.stdout.startswith("running") and f"pid={pid}" in status.stdout
    finally:
        down = cli(neo4j_server, "neo4j", "down", **env)
    assert down.returncode == 0 and down.stdout.strip() == "stopped"
    stopped = cli(neo4j_server, "neo4j", "status", **env)
    assert stopped.returncode == 3 and stopped.stdout.startswith("stopped")
    assert cli(neo4j_server, "neo4j", "down", **env).stdout.strip() == "not running"


def test_serve_answers_health_and_ingest(neo4j_server: Settings, db: Database,
                                        tmp_path: Path) -> None:
    import httpx

    log = tmp_path / "serve.log"
    with served_api(neo4j_server, log) as url:
        event = run_event("START", new_run_id(), ("airflow", "served"), T0)
        assert httpx.post(f"{url}/api/v1/lineage", json=event).status_code == 201
        assert "graphiql" in httpx.get(f"{url}/graphql",
                                       headers={"Accept": "text/html"}).text.lower()
        # httptools parses requests (web/server.py): it refuses both framings at once, a
        # request-smuggling shape that h11 would have passed on
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /api/v1/lineage HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 2\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
    served = log.read_text()
    assert "Application shutdown complete" in served
    assert "event loop uvloop.Loop" in served
    assert query(db, "MATCH (j:Job {name: 'served'}) RETURN count(j) AS n") == [{"n": 1}]

def test_scene_ingest_stores_and_reports(neo4j_server: Settings, db: Database) -> None:
    from tests.conftest import SHARED

    usd = SHARED / "conformance" / "usd"
    result = cli(neo4j_server, "scene", "ingest", str(usd / "warehouse" / "warehouse.usda"),
                 "--variant", "lighting=night", "--variant", "lighting=flicker,layout=aisle_narrow")
    assert result.returncode == 0, result.stderr
    assert "scene warehouse version 1.4.0" in result.stdout
    assert "2 scene variants" in result.stdout
    assert "missing asset: assets/pallet.usda" in result.stderr
    assert query(db, "MATCH (v:SceneVariant) RETURN count(v) AS n") == [{"n": 2}]
    refused = cli(neo4j_server, "scene", "ingest", str(usd / "warehouse" / "warehouse.usda"),
                  "--all-variants", "--max-variants", "3")
    assert refused.returncode == 1 and "--max-variants 3" in refused.stderr


def test_scene_ingest_of_a_bad_file_writes_nothing(neo4j_server: Settings, db: Database,
                                                   tmp_path: Path) -> None:
    bad = tmp_path / "scene.usda"
    bad.write_text("not usd at all")
    result = cli(neo4j_server, "scene", "ingest", str(bad))
    assert_one_line_error(result, "scene.usda")
    assert query(db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n") == [{"n": 0}]


def test_scene_ingest_with_a_broken_sublayer_is_one_line_too(
        neo4j_server: Settings, db: Database, tmp_path: Path) -> None:
    from tests.conftest import SHARED

    scene = tmp_path / "warehouse"
    shutil.copytree(SHARED / "conformance" / "usd" / "warehouse", scene)
    (scene / "lighting.usda").write_text("#usda 1.0\nthis is not a layer {")
    result = cli(neo4j_server, "scene", "ingest", str(scene / "warehouse.usda"))
    assert_one_line_error(result, "lighting.usda")
    assert query(db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n") == [{"n": 0}]


def test_scene_ingest_warns_when_a_declared_version_is_reused(
        neo4j_server: Settings, db: Database, tmp_path: Path) -> None:
    from tests.conftest import SHARED

    scene = tmp_path / "warehouse"
    shutil.copytree(SHARED / "conformance" / "usd" / "warehouse", scene)
    first = cli(neo4j_server, "scene", "ingest", str(scene / "warehouse.usda"))
    assert first.returncode == 0 and "already stored" not in first.stderr
    with (scene / "lighting.usda").open("a") as layer:
        layer.write("\n")  # an edit, and the root layer still declares sceneVersion 1.4.0
    second = cli(neo4j_server, "scene", "ingest", str(scene / "warehouse.usda"))
    assert second.returncode == 0, second.stderr
    assert "warning scene 'warehouse' version '1.4.0' was already stored with other content" in (
        " ".join(second.stderr.split()))
    assert query(db, "MATCH (sv:SceneVersion {version: '1.4.0'}) RETURN count(sv) AS n") == [
        {"n": 2}]


def test_scene_ingest_through_the_api(neo4j_server: Settings, db: Database,
                                      tmp_path: Path) -> None:
    from tests.conftest import SHARED

    with served_api(neo4j_server, tmp_path / "serve.log") as url:
        scene = SHARED / "conformance" / "usd" / "kitchen" / "kitchen.usda"
        result = cli(neo4j_server, "scene", "ingest", str(scene), "--all-variants",
                     "--api", url, NEO4J_URI="bolt://127.0.0.1:1")  # proves Neo4j is not used
        assert result.returncode == 0, result.stderr
        assert "scene kitchen version 0.9.2" in result.stdout
    assert query(db, "MATCH (v:SceneVariant) RETURN count(v) AS n") == [{"n": 4}]
