"""The doors an attacker tried: authentication decided from the address actually bound, no
cross-site or DNS-rebinding access to an unauthenticated API, a key cache that made-up keys
cannot fill or flush, 503 bodies that never name the server, and a managed Neo4j whose password
and files stay private and whose `down` never signals another process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient

from lineage_graph.auth.keys import UNKNOWN_CACHE_SIZE, ApiKeyService
from lineage_graph.db.connection import Database, resolve_password
from lineage_graph.errors import Neo4jUnavailableError
from lineage_graph.neo4j_server.manager import ManagedNeo4j
from lineage_graph.settings import Settings, is_loopback_host
from tests.conftest import LOCAL_BASE_URL, query, require_managed
from tests.events import T0, new_run_id, run_event
from tests.serving import free_port

T = TypeVar("T")


def _event() -> dict[str, Any]:
    return run_event("START", new_run_id(), ("airflow", "doors"), T0)


def _events_stored(db: Database) -> int:
    return int(query(db, "MATCH (e:Event) RETURN count(e) AS n")[0]["n"])


# -- which addresses count as loopback ---------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.45.6.7", "::1", "[::1]", "localhost",
                                  "LOCALHOST"])
def test_literal_loopback_addresses_are_loopback(host: str) -> None:
    assert is_loopback_host(host)
    assert not Settings(api_host=host).auth_enabled


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "127.0.0.1.nip.io",
                                  "127.example.com", "localhost.example.com", ""])
def test_anything_else_requires_keys(host: str) -> None:
    assert not is_loopback_host(host)
    assert Settings(api_host=host).auth_enabled
    with pytest.raises(ValueError, match="only allowed when binding a loopback"):
        _ = Settings(api_host=host, auth="off").auth_enabled


def _serve(settings: Settings, *args: str, **env_extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_GRAPH_AUTH"}
    env.update(NEO4J_URI=settings.bolt_uri, NEO4J_USER=settings.neo4j_user,
               NEO4J_PASSWORD=resolve_password(settings), **env_extra)
    return subprocess.Popen([sys.executable, "-m", "lineage_graph", "serve", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_serve_on_all_interfaces_requires_api_keys(db: Database, neo4j_server: Settings,
                                                   tmp_path: Path) -> None:
    port = free_port()
    proc = _serve(neo4j_server, "--host", "0.0.0.0", "--port", str(port),
                  LINEAGE_GRAPH_SPOOL_DIR=str(tmp_path))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        answer = httpx.post(f"{url}/api/v1/lineage", json=_event(), timeout=30)
        assert answer.status_code == 401, answer.text
        graphql = httpx.post(f"{url}/graphql", json={"query": "{ models(limit: 1) { id } }"})
        assert graphql.status_code == 401
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    assert b"authentication on" in out
    assert _events_stored(db) == 0


def test_auth_off_is_refused_when_serving_all_interfaces(neo4j_server: Settings) -> None:
    proc = _serve(neo4j_server, "--host", "0.0.0.0", "--port", str(free_port()),
                  LINEAGE_GRAPH_AUTH="off")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert b"LINEAGE_GRAPH_AUTH=off is only allowed when binding a loopback address" in out


# -- browsers: simple requests and DNS rebinding -------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_post_bodies_must_be_declared_json(client: TestClient, db: Database,
                                           content_type: str | None) -> None:
    """What a web page can send without a CORS preflight is refused before it is read."""
    body = json.dumps(_event())
    headers = {} if content_type is None else {"Content-Type": content_type}
    for path in ("/api/v1/lineage", "/api/v1/lineage/batch", "/api/v1/scenes", "/graphql"):
        answer = client.post(path, content=body.encode(), headers=headers)
        assert answer.status_code == 415, (path, answer.text)
        assert answer.json()["error"] == "unsupported_media_type"
        assert answer.json()["field"] == "Content-Type"
    assert _events_stored(db) == 0


def test_json_and_ndjson_bodies_are_accepted(client: TestClient, db: Database) -> None:
    one = client.post("/api/v1/lineage", content=json.dumps(_event()).encode(),
                      headers={"Content-Type": "application/json; charset=utf-8"})
    assert one.status_code == 201
    ndjson = "\n".join(json.dumps(_event()) for _ in range(2))
    batch = client.post("/api/v1/lineage/batch", content=ndjson.encode(),
                        headers={"Content-Type": "application/x-ndjson"})
    assert batch.status_code == 200 and batch.json()["summary"]["accepted"] == 2
    # NDJSON is a batch format: the single-event endpoint takes JSON only.
    assert client.post("/api/v1/lineage", content=json.dumps(_event()).encode(),
                       headers={"Content-Type": "application/x-ndjson"}).status_code == 415
    assert _events_stored(db) == 3


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:5000",
                                  "127.0.0.1.attacker.example", ""])
def test_unauthenticated_api_answers_only_to_local_hosts(client: TestClient, db: Database,
                                                         host: str) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it
    away."""
    headers = {"Host": host}
    posted = client.post("/api/v1/lineage", json=_event(), headers=headers)
    assert posted.status_code == 421, posted.text
    assert posted.json()["error"] == "misdirected_request"
    read = client.get("/graphql", params={"query": "{ models(limit: 1) { id } }"},
                      headers=headers)
    assert read.status_code == 421
    assert _events_stored(db) == 0


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000", "127.0.0.2"])
def test_loopback_host_names_are_served(client: TestClient, host: str) -> None:
    assert client.post("/api/v1/lineage", json=_event(),
                       headers={"Host": host}).status_code == 201


def test_allowed_hosts_are_configurable(db: Database, neo4j_server: Settings) -> None:
    from lineage_graph.web.app import create_app

    settings = Settings.from_env({"LINEAGE_GRAPH_ALLOWED_HOSTS": "lineage.internal, Other.Host"})
    assert settings.allowed_hosts == ("lineage.internal", "other.host")
    app = create_app(replace(neo4j_server, allowed_hosts=settings.allowed_hosts))
    with TestClient(app, base_url="http://lineage.internal:5000") as client:
        assert client.post("/api/v1/lineage", json=_event()).status_code == 201
        assert client.post("/api/v1/lineage", json=_event(),
                           headers={"Host": "elsewhere"}).status_code == 421


def test_with_auth_on_the_host_is_not_checked(db: Database, neo4j_server: Settings) -> None:
    """Behind a proxy with its own name, keys are the defence, not the Host header."""
    from lineage_graph.web.app import create_app

    _, key = ApiKeyService(db).create("emitter", ["ingest"])
    app = create_app(replace(neo4j_server, auth="on"))
    with TestClient(app, base_url="http://lineage.example.com") as client:
        answer = client.post("/api/v1/lineage", json=_event(),
                             headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 201


# -- the API-key cache --------------------------------------------------------------------------


class _CountingDatabase:
    """A Database stand-in for the key service only: counts reads, and can go down."""

    def __init__(self, real: Database) -> None:
        self.real = real
        self.reads = 0
        self.down = False

    def read(self, work: Callable[..., T]) -> T:
        self.reads += 1
        if self.down:
            raise Neo4jUnavailableError("Neo4j at bolt://secret-host:7687 is unreachable")
        return self.real.read(work)

    read_once = read  # the key service's lookups: one attempt each

    def write(self, work: Callable[..., T]) -> T:
        return self.real.write(work)


@pytest.fixture()
def counted(db: Database) -> Iterator[tuple[ApiKeyService, _CountingDatabase]]:
    spy = _CountingDatabase(db)
    yield ApiKeyService(spy), spy  # type: ignore[arg-type]


@pytest.mark.parametrize("token", ["lg_nope_x", "lg_" + "a" * 12 + "_" + "b" * 42,
                                   "lg_" + "A" * 12 + "_" + "b" * 43, "lg_" + "a" * 5000,
                                   "lg_0123456789ab_" + "b" * 42 + "!", "Basic xyz", ""])
def test_malformed_keys_are_refused_without_a_lookup(
        counted: tuple[ApiKeyService, _CountingDatabase], token: str) -> None:
    service, spy = counted
    assert service.authenticate(token) is None
    assert spy.reads == 0


def test_made_up_key_ids_cannot_evict_a_real_key(
        counted: tuple[ApiKeyService, _CountingDatabase]) -> None:
    service, spy = counted
    _, key = service.create("emitter", ["ingest"])
    assert service.authenticate(key) is not None
    for n in range(UNKNOWN_CACHE_SIZE * 3):
        assert service.authenticate(f"lg_{n:012x}_{'x' * 43}") is None
    spy.down = True  # the real key was seen: it keeps working while Neo4j is down
    assert service.authenticate(key) is not None
    with pytest.raises(Neo4jUnavailableError):
        service.authenticate(f"lg_{'f' * 12}_{'y' * 43}")  # an unseen one cannot be checked


def test_a_503_for_an_unseen_key_never_names_the_server(neo4j_server: Settings,
                                                        tmp_path: Path) -> None:
    from lineage_graph.web.app import create_app

    nowhere = replace(neo4j_server, neo4j_uri="bolt://127.0.0.1:1", neo4j_password="x",
                      neo4j_retry_seconds=1, spool_dir_override=tmp_path, auth="on")
    with TestClient(create_app(nowhere), base_url=LOCAL_BASE_URL) as client:
        answer = client.post("/api/v1/lineage", json=_event(),
                             headers={"Authorization": f"Bearer lg_{'a' * 12}_{'b' * 43}"})
        assert answer.status_code == 503
        assert answer.json() == {"error": "neo4j_unavailable",
                                 "message": "the database is unavailable; try again later"}
        rest = client.get("/api/v1/lineage", params={"nodeId": "job:a:b"})
        assert "127.0.0.1:1" not in rest.text and "bolt" not in rest.text
        graphql = client.post("/graphql", json={"query": '{ node(id: "x") { id } }'})
        assert "bolt" not in graphql.text


# -- the managed Neo4j --------------------------------------------------------------------------


def test_the_password_never_appears_on_a_command_line(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    manager = ManagedNeo4j(Settings(home=tmp_path, instance="pw"))
    manager._ensure_password_file()
    password = manager.password()
    seen: dict[str, Any] = {}

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        argfile = Path(argv[-1].removeprefix("@"))
        seen.update(argv=argv, mode=stat.S_IMODE(argfile.stat().st_mode),
                    content=argfile.read_text(), umask=kwargs.get("umask"), argfile=argfile)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    manager._set_initial_password("java")
    assert password not in " ".join(seen["argv"])
    assert seen["content"].split() == ["org.neo4j.cli.AdminTool", "dbms",
                                       "set-initial-password", password]
    assert seen["mode"] == 0o600 and seen["umask"] == 0o077
    assert not seen["argfile"].exists()  # removed as soon as the tool ran


def test_the_managed_instance_is_private(neo4j_server: Settings) -> None:
    require_managed(neo4j_server, "NEO4J_URI names an external server")
    manager = ManagedNeo4j(neo4j_server)
    assert manager.status().running
    pid = manager.status().pid
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        assert manager.password().encode() not in fh.read()
    exposed = []
    for root, dirs, files in os.walk(manager.dir):
        for name in [*dirs, *files]:
            path = Path(root) / name
            if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                exposed.append(str(path.relative_to(manager.dir)))
    assert stat.S_IMODE(manager.dir.stat().st_mode) == 0o700
    assert exposed == []


def test_down_never_signals_a_process_that_is_not_this_neo4j(tmp_path: Path) -> None:
    manager = ManagedNeo4j(Settings(home=tmp_path, instance="stale"))
    manager.dir.mkdir(parents=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        manager.pid_file.write_text(str(bystander.pid))  # a pid reused after a reboot
        assert not manager.status().running
        assert manager.down() is False
        time.sleep(0.2)
        assert bystander.poll() is None  # still running: not signalled
        assert not manager.pid_file.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_an_unseen_key_fails_fast_while_neo4j_is_down(neo4j_server: Settings) -> None:
    """Found by an attacker review: each made-up key held one of ingestion's threads for the
    driver's whole retry time while Neo4j was down; four of them blocked every emitter."""
    import threading

    down = replace(neo4j_server, neo4j_uri="bolt://127.0.0.1:1", neo4j_password="x",
                   neo4j_retry_seconds=600)
    outcome: list[BaseException] = []

    def authenticate(service: ApiKeyService) -> None:
        try:
            service.authenticate(f"lg_{'a' * 12}_{'b' * 43}")
        except Neo4jUnavailableError as exc:
            outcome.append(exc)

    with Database(down) as db:
        lookup = threading.Thread(target=authenticate, args=(ApiKeyService(db),))
        lookup.start()
        lookup.join(timeout=60)  # retries would take 600 s
        assert not lookup.is_alive(), "the lookup was retried"
    assert len(outcome) == 1


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_proxied_request_to_an_api_without_keys_is_refused(client: TestClient, db: Database,
                                                             header: str) -> None:
    """Found by an attacker review: a proxy on this machine (nginx proxy_pass to
    127.0.0.1:5000) passes the Host check and would publish an API without keys."""
    answer = client.post("/api/v1/lineage", json=_event(), headers={header: "203.0.113.9"})
    assert answer.status_code == 421
    assert "LINEAGE_GRAPH_AUTH=on" in answer.json()["message"]
    assert _events_stored(db) == 0


def test_a_request_to_a_non_loopback_address_is_refused_with_auth_off(
        db: Database, neo4j_server: Settings) -> None:
    """An app served on 0.0.0.0 some other way than `serve` (which turns auth on)."""
    from lineage_graph.web.app import create_app

    with TestClient(create_app(neo4j_server), base_url="http://192.0.2.10") as client:
        answer = client.post("/api/v1/lineage", json=_event(), headers={"Host": "localhost"})
        assert answer.status_code == 421
        assert "serves loopback only" in answer.json()["message"]
    assert _events_stored(db) == 0


def test_graphql_has_no_websocket_route(client: TestClient) -> None:
    """The request guards and authentication are HTTP middleware: a WebSocket route would
    bypass both, so there is none (no subscriptions are served)."""
    from starlette.testclient import WebSocketDenialResponse
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises((WebSocketDisconnect, WebSocketDenialResponse)), \
            client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]):
        pass
