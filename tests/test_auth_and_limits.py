"""API keys (401 without a valid key, 403 without the scope, nothing leaked), auth on by default
off loopback, the openlineage-python client's api_key auth, and the request limits: GraphQL
depth, aliases and size, and the Neo4j query timeout."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from lineage_graph.auth.keys import ApiKeyService
from lineage_graph.db.connection import Database, resolve_password
from lineage_graph.errors import QueryTimeoutError
from lineage_graph.ingest.service import IngestService
from lineage_graph.settings import Settings
from tests.conftest import LOCAL_BASE_URL, query
from tests.events import T0, new_run_id, run_event

READ = '{ models(limit: 5) { id } }'
MUTATION = """mutation { createLabelingSchema(input: {name: "s", type: FEEDBACK, title: "t",
  input: {kind: TEXT}}) { version } }"""


@pytest.fixture()
def secured(db: Database, neo4j_server: Settings) -> Iterator[TestClient]:
    from lineage_graph.web.app import create_app

    app = create_app(replace(neo4j_server, auth="on"))
    with TestClient(app, base_url=LOCAL_BASE_URL) as client:
        yield client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _event() -> dict[str, Any]:
    return run_event("START", new_run_id(), ("airflow", "secured"), T0)


class _Clock:
    """A monotonic clock the test moves by hand: cache expiry without sleeping."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


def test_missing_unknown_and_revoked_keys_are_401_alike(
        secured: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage_graph.auth import keys as keys_module

    clock = _Clock()
    monkeypatch.setattr(keys_module, "time", clock)
    keys = ApiKeyService(db)  # another process's view, as `lineage-graph apikey revoke` has
    record, key = keys.create("ci", ["ingest"])
    key_id = record["keyId"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert secured.post("/api/v1/lineage", json=_event(), headers=_bearer(key)
                        ).status_code == 201
    answers = [
        secured.post("/api/v1/lineage", json=_event()),
        secured.post("/api/v1/lineage", json=_event(), headers=_bearer("lg_nope_x")),
        secured.post("/api/v1/lineage", json=_event(), headers=_bearer(forged)),
        secured.post("/api/v1/lineage", json=_event(), headers={"Authorization": key}),
    ]
    keys.revoke(key_id)
    # The running API read the key before the revocation: it may serve it from its cache for
    # CACHE_SECONDS, and not one moment longer.
    clock.now += keys_module.CACHE_SECONDS - 0.5
    assert secured.post("/api/v1/lineage", json=_event(), headers=_bearer(key)
                        ).status_code == 201
    clock.now += 1.0
    answers.append(secured.post("/api/v1/lineage", json=_event(), headers=_bearer(key)))
    for answer in answers:
        assert answer.status_code == 401
        assert answer.json() == {"error": "unauthorized", "message":
                                 "a valid API key is required: Authorization: Bearer <key>"}
        assert answer.headers["www-authenticate"] == "Bearer"
    # Only what the key holder sent is ingested (the key's own creation and revocation are
    # records of type apiKey).
    assert query(db, "MATCH (e:Event {recordType: 'openlineage'}) RETURN count(e) AS n") == [
        {"n": 2}]
    # Only the hash is stored: no property value holds the secret or the key.
    secret = key.split("_", 2)[2]
    [stored] = query(db, "MATCH (k:ApiKey) RETURN properties(k) AS props")
    values = [str(v) for v in stored["props"].values()]
    assert stored["props"]["secretHash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in v or key in v for v in values)


def test_scopes_decide_what_a_key_may_do(secured: TestClient, db: Database) -> None:
    keys = ApiKeyService(db)
    _, ingest = keys.create("emitter", ["ingest"])
    _, read = keys.create("dashboard", ["read"])
    _, admin = keys.create("ops", ["admin"])
    assert secured.post("/api/v1/lineage", json=_event(), headers=_bearer(ingest)
                        ).status_code == 201
    refused = secured.post("/api/v1/lineage", json=_event(), headers=_bearer(read))
    assert refused.status_code == 403
    assert refused.json()["message"] == "this API key lacks the 'ingest' scope"
    assert secured.post("/graphql", json={"query": READ}, headers=_bearer(ingest)
                        ).status_code == 403
    assert "errors" not in secured.post("/graphql", json={"query": READ},
                                        headers=_bearer(read)).json()
    mutation = secured.post("/graphql", json={"query": MUTATION}, headers=_bearer(read)).json()
    assert mutation["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert query(db, "MATCH (s:LabelingSchema) RETURN count(s) AS n") == [{"n": 0}]
    done = secured.post("/graphql", json={"query": MUTATION}, headers=_bearer(admin)).json()
    assert done["data"]["createLabelingSchema"]["version"] == 1
    assert secured.get("/metrics", headers=_bearer(read)).status_code == 200
    assert secured.get("/metrics").status_code == 401
    # Open: health, the API contract and the GraphiQL page (it holds no data).
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/openapi.json").status_code == 200
    assert secured.get("/graphql", headers={"Accept": "text/html"}).status_code == 200
    assert secured.get("/graphql", params={"query": READ}).status_code == 401


def test_every_route_declares_who_may_call_it_or_the_app_does_not_start() -> None:
    """Each API route of the app (REST, Marquez, GraphQL, the dashboard page) declares one
    scope or that it is open, as its dependency (web/auth.py); a route added without one stops
    the app from starting: access fails closed."""
    from fastapi.routing import iter_route_contexts

    from lineage_graph.web.app import create_app
    from lineage_graph.web.auth import check_every_route_declares_access, declared_access

    app = create_app(Settings(auth="on"))
    routes = [c.route for c in iter_route_contexts(app.routes) if isinstance(c.route, APIRoute)]
    assert len(routes) > 15
    assert all(len(declared_access(route.dependencies)) == 1 for route in routes)

    @app.get("/internal/debug", include_in_schema=False)
    async def undeclared() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match=r"GET.*/internal/debug must declare"):
        check_every_route_declares_access(app)


def test_no_route_serves_a_caller_without_a_key_unless_declared_open(
        secured: TestClient) -> None:
    """Every operation of the API contract, and the unlisted Marquez write methods, answer 401
    to a caller without a key; only health, the dashboard page and the GraphiQL page do not. A
    route added without a declaration fails here."""
    spec = secured.get("/openapi.json").json()
    operations = [(method.upper(), re.sub(r"\{[^}]+\}", "x", path))
                  for path, ops in spec["paths"].items() for method in ops]
    operations += [("PUT", "/api/v1/sources/x"), ("POST", "/api/v1/jobs/runs/x"),
                   ("POST", "/graphql"), ("GET", "/")]
    assert len(operations) > 15
    open_ones = {("GET", "/healthz"), ("GET", "/"), ("GET", "/graphql")}  # GraphiQL page
    for method, url in operations:
        body = None if method == "GET" else {"query": "{ __typename }"}  # passes the guards
        answer = secured.request(method, url, json=body)
        if (method, url) in open_ones:
            assert answer.status_code == 200, (method, url)
        else:
            assert answer.status_code == 401, (method, url, answer.text)


def test_the_openlineage_client_sends_its_api_key(db: Database, neo4j_server: Settings) -> None:
    import threading

    import uvicorn
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    from lineage_graph.web.app import create_app
    from lineage_graph.web.server import server_config
    from tests.serving import free_port

    _, key = ApiKeyService(db).create("airflow", ["ingest"])
    port = free_port()
    server = uvicorn.Server(server_config(create_app(replace(neo4j_server, auth="on")),
                                          "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        config = HttpConfig(url=f"http://127.0.0.1:{port}",
                            auth=ApiKeyTokenProvider({"apiKey": key}))
        client = OpenLineageClient(transport=HttpTransport(config))
        run_id = new_run_id()
        client.emit(RunEvent(eventType=RunState.START, eventTime=T0.isoformat(),
                             run=Run(runId=run_id), job=Job(namespace="airflow", name="dag"),
                             producer="https://example.com"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert query(db, "MATCH (r:Run {runId: $id}) RETURN count(r) AS n", id=run_id) == [{"n": 1}]


def test_auth_is_on_off_loopback_and_cannot_be_turned_off_there() -> None:
    assert Settings(api_host="127.0.0.1").auth_enabled is False
    assert Settings(api_host="0.0.0.0").auth_enabled is True
    assert Settings(api_host="127.0.0.1", auth="on").auth_enabled is True
    with pytest.raises(ValueError, match="only allowed when binding a loopback"):
        _ = Settings(api_host="0.0.0.0", auth="off").auth_enabled
    with pytest.raises(ValueError, match="LINEAGE_GRAPH_AUTH"):
        Settings.from_env({"LINEAGE_GRAPH_AUTH": "maybe"})


def test_apikey_cli_creates_lists_and_revokes(db: Database, neo4j_server: Settings) -> None:
    env = {"NEO4J_URI": neo4j_server.bolt_uri, "NEO4J_USER": neo4j_server.neo4j_user,
           "NEO4J_PASSWORD": resolve_password(neo4j_server), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "lineage_graph.cli", "apikey"]
    made = subprocess.run([*cli, "create", "--name", "ci", "--scope", "read", "--scope",
                           "ingest"], capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("lg_") and "shown once" in made.stderr
    key_id = key.split("_")[1]
    listed = subprocess.run([*cli, "list"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert f"{key_id}  ci  ingest,read" in listed.stdout and key not in listed.stdout
    assert ApiKeyService(db).authenticate(key) is not None
    revoked = subprocess.run([*cli, "revoke", key_id], capture_output=True, text=True, env=env,
                             timeout=120)
    assert revoked.returncode == 0
    assert ApiKeyService(db).authenticate(key) is None
    bad = subprocess.run([*cli, "create", "--name", "x", "--scope", "root"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and "unknown: root" in bad.stderr


@pytest.mark.parametrize(("graphql", "problem"), [
    ("{ " + " ".join(f"a{i}: models(limit: 1) {{ id }}" for i in range(40)) + " }",
     "aliases found. Allowed: 30"),
    ("{ run(id: \"x\") { " + "job { runs { " * 10 + "id" + " } }" * 10 + " } }",
     "exceeds maximum operation depth of 15"),
    ("{ models(limit: 1) { " + " ".join(["id"] * 6000) + " } }",
     "more than 5000 tokens"),
])
def test_graphql_limits_refuse_before_running(client: TestClient, graphql: str,
                                              problem: str) -> None:
    # Twice: the second time the parsed and validated document comes from the caches.
    for _ in range(2):
        body = client.post("/graphql", json={"query": graphql}).json()
        assert problem in body["errors"][0]["message"], body["errors"][0]["message"]
        assert body.get("data") is None


def test_a_query_over_the_timeout_is_stopped(db: Database, neo4j_server: Settings) -> None:
    slow = Database(replace(neo4j_server, query_timeout_seconds=1))
    try:
        with pytest.raises(QueryTimeoutError, match="LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS"):
            slow.read(lambda tx: tx.run(
                "UNWIND range(1, 100000000000) AS i WITH i WHERE i % 7 = 99 RETURN count(*)"
            ).consume())
    finally:
        slow.close()


RUNAWAY = "UNWIND range(1, 100000000000) AS i WITH i WHERE i % 7 = 99 RETURN count(*)"


def test_a_read_over_the_timeout_is_503_query_timeout_and_graphql_timeout(
        db: Database, neo4j_server: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read the API makes runs a runaway query first (the same transaction, so under
    the same timeout): Neo4j stops it, and REST and GraphQL say so, naming the setting."""
    from lineage_graph.web.app import create_app

    IngestService(db).ingest_raw([(run_event("START", new_run_id(), ("spark", "slow"), T0),
                                   None)])
    real_read = Database.read

    def runaway_first(self: Database, work: Any) -> Any:
        def slowed(tx: Any) -> Any:
            tx.run(RUNAWAY).consume()
            return work(tx)
        return real_read(self, slowed)

    monkeypatch.setattr(Database, "read", runaway_first)
    app = create_app(replace(neo4j_server, query_timeout_seconds=1))
    with TestClient(app, base_url=LOCAL_BASE_URL) as client:
        rest = client.get("/api/v1/lineage", params={"nodeId": "job:spark:slow", "depth": 2})
        assert rest.status_code == 503
        assert rest.json()["error"] == "query_timeout"
        assert "LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS" in rest.json()["message"]
        graphql = client.post("/graphql", json={"query": READ}).json()
        assert graphql["errors"][0]["extensions"]["code"] == "TIMEOUT"
        assert "LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS" in graphql["errors"][0]["message"]


@pytest.mark.parametrize(("depth", "problem"), [
    (21, "depth 21 exceeds the limit of 20 (setting LINEAGE_GRAPH_MAX_DEPTH)"),
    (-1, "depth must be 0 or more"),
])
def test_rest_lineage_over_the_depth_cap_is_a_400_naming_it(client: TestClient,
                                                             depth: int, problem: str) -> None:
    answer = client.get("/api/v1/lineage", params={"nodeId": "job:spark:x", "depth": depth})
    assert answer.status_code == 400
    assert problem in answer.json()["message"]


def test_graphql_lists_over_the_limit_cap_are_bad_requests(client: TestClient) -> None:
    body = client.post("/graphql", json={"query": "{ models(limit: 1001) { id } }"}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "limit must be between 1 and 1000" in body["errors"][0]["message"]
