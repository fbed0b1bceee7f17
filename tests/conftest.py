"""Test fixtures: a real Neo4j (the managed test instance, or NEO4J_URI), an API client, and
helpers to read the graph back.

The managed test instance is separate from the one ``make run`` serves (instance "test", Bolt
port 7688), so running the tests never touches your demo data. With NEO4J_URI set the tests use
that server and WIPE its database.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.ingest.service import IngestService
from lineage_graph.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
CONFORMANCE = SHARED / "conformance" / "openlineage"
# TestClient's default host ("testserver") is not a loopback name: with authentication off the
# API answers only to loopback hosts (DNS-rebinding defence), so tests address it as a browser on
# this machine would.
LOCAL_BASE_URL = "http://127.0.0.1"


def _test_settings() -> Settings:
    env = dict(os.environ)
    env.setdefault("LINEAGE_GRAPH_NEO4J_INSTANCE", "test")
    env.setdefault("LINEAGE_GRAPH_NEO4J_BOLT_PORT", "7688")
    env.setdefault("LINEAGE_GRAPH_NEO4J_HTTP_PORT", "7475")
    env.setdefault("LINEAGE_GRAPH_NEO4J_HEAP", "1g")
    # A spool of the test session's own: events a test spools must never reach another run.
    env.setdefault("LINEAGE_GRAPH_SPOOL_DIR", tempfile.mkdtemp(prefix="lineage-graph-spool-"))
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return _test_settings()


@pytest.fixture(scope="session")
def neo4j_server(settings: Settings) -> Iterator[Settings]:
    """Start the managed test Neo4j once per session (left running only if it already ran)."""
    if not settings.managed:
        yield settings
        return
    from lineage_graph.neo4j_server import ManagedNeo4j

    manager = ManagedNeo4j(settings)
    was_running = manager.status().running
    manager.up(progress=False)
    yield settings
    if not was_running and os.environ.get("LINEAGE_GRAPH_KEEP_TEST_NEO4J") != "1":
        manager.down()


def require_managed(settings: Settings, why: str) -> None:
    """Skip a test that needs the managed Neo4j when NEO4J_URI names another server, except
    in CI (CI=true, set by .ci/run), where every test must run: there it fails instead."""
    if settings.managed:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}, and CI must run every test: unset NEO4J_URI")
    pytest.skip(why)


@pytest.fixture(scope="session")
def session_db(neo4j_server: Settings) -> Iterator[Database]:
    db = Database(neo4j_server)
    migrate(db)
    yield db
    db.close()


def wipe(db: Database) -> None:
    with db.driver.session(database=db.name) as session:
        session.run(
            "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
        ).consume()


@pytest.fixture()
def db(session_db: Database) -> Database:
    """The real Neo4j, emptied before the test."""
    wipe(session_db)
    return session_db


@pytest.fixture()
def ingest(db: Database) -> IngestService:
    return IngestService(db)


@pytest.fixture()
def client(db: Database, neo4j_server: Settings) -> Iterator[TestClient]:
    from lineage_graph.web.app import create_app

    with TestClient(create_app(neo4j_server), base_url=LOCAL_BASE_URL) as test_client:
        yield test_client


@contextmanager
def _api_in_thread(settings: Settings) -> Iterator[str]:
    import threading
    import time

    import uvicorn

    from lineage_graph.web.app import create_app
    from lineage_graph.web.server import server_config
    from tests.serving import free_port

    port = free_port()
    server = uvicorn.Server(server_config(create_app(settings), "127.0.0.1", port,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def api_url(db: Database, neo4j_server: Settings) -> Iterator[str]:
    """The API served over HTTP in this process (for HTTP clients such as the OpenLineage
    client's transport), against the emptied test database."""
    with _api_in_thread(neo4j_server) as url:
        yield url


@dataclass(frozen=True)
class DemoGraph:
    url: str
    db: Database
    result: Any  # lineage_graph.demo.pipeline.DemoResult
    workdir: Path


@pytest.fixture(scope="module")
def demo_graph(session_db: Database, neo4j_server: Settings,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoGraph]:
    """The graph `lineage-graph demo` builds, through the real API, once per test module.
    Tests using it must not wipe the database."""
    from lineage_graph.demo.pipeline import DemoPipeline

    wipe(session_db)
    workdir = tmp_path_factory.mktemp("demo")
    with _api_in_thread(neo4j_server) as url:
        result = DemoPipeline(url, workdir).run()
        yield DemoGraph(url=url, db=session_db, result=result, workdir=workdir)


def graphql_data(client: TestClient, text: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL query through the test client; its data, asserting no error."""
    body = client.post("/graphql", json={"query": text, "variables": variables}).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@dataclass(frozen=True)
class SentStatement:
    """A statement sent in a managed transaction: its text, its parameters' values and the
    thread that sent it."""

    text: str
    arguments: dict[str, Any]
    thread: str

    @property
    def parameters(self) -> frozenset[str]:
        """The names of its parameters."""
        return frozenset(self.arguments)


@pytest.fixture()
def cypher_sent(monkeypatch: pytest.MonkeyPatch) -> list[SentStatement]:
    """Every statement sent in a managed transaction from now on, in order (what a write sends
    to Neo4j, and under which lock, is part of what some tests specify)."""
    import neo4j

    sent: list[SentStatement] = []
    run = neo4j.ManagedTransaction.run

    def recording_run(self: neo4j.ManagedTransaction, query: Any, parameters: Any = None,
                      **kwargs: Any) -> neo4j.Result:
        sent.append(SentStatement(str(query), {**(parameters or {}), **kwargs},
                                  threading.current_thread().name))
        return run(self, query, parameters, **kwargs)

    monkeypatch.setattr(neo4j.ManagedTransaction, "run", recording_run)
    return sent


def query(db: Database, cypher: str, **params: Any) -> list[dict[str, Any]]:
    return db.read(lambda tx: [r.data() for r in tx.run(cypher, params)])  # type: ignore[arg-type]


REBUILD_VOLATILE = frozenset({"lockedAt"})


def graph_snapshot(db: Database, volatile: frozenset[str] = frozenset({"ingestedAt", "lockedAt"})
                   ) -> tuple[list[Any], list[Any]]:
    """The derived graph (everything but the event record) as sorted, comparable lists."""
    nodes = query(
        db,
        """
        MATCH (n) WHERE NOT n:Event AND NOT n:Sequence
        RETURN labels(n) AS labels, properties(n) AS props
        """,
    )
    rels = query(
        db,
        """
        MATCH (a)-[r]->(b) WHERE NOT a:Event AND NOT b:Event
        WITH a, r, b, [a, b] AS ends
        WITH r, [n IN ends | coalesce(n.nodeId, n.fieldId, n.facetId, n.key, n.sceneId,
                                       n.primId, n.arcId, n.variantSetId, n.optionId,
                                       n.sha256, n.metricId, n.labelId, n.digest,
                                       n.name)] AS keys
        RETURN keys[0] AS a, type(r) AS type, properties(r) AS props, keys[1] AS b
        """,
    )
    # Left out: the wall-clock time of the last write lock (differs between any two runs) and,
    # by default, when a scene was ingested (differs between two ingestions; a rebuild of one
    # record must reproduce it: rebuild tests pass volatile=REBUILD_VOLATILE).
    norm_nodes = sorted((sorted(n["labels"]), sorted((k, repr(v)) for k, v in n["props"].items()
                                                     if k not in volatile))
                        for n in nodes)
    norm_rels = sorted((r["a"], r["type"], sorted((k, repr(v)) for k, v in r["props"].items()),
                        r["b"]) for r in rels)
    return norm_nodes, norm_rels
