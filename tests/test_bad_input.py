"""Bad input never gives a 5xx: JSON too deep for the parser, lone surrogates, numbers Neo4j or
JSON cannot carry, NaN and Infinity, and gzip bodies cut short or followed by more. Each is a
4xx naming the place, and nothing is written."""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError
from lineage_graph.json_limits import (
    MAX_DEPTH,
    JsonValueError,
    json_problem,
    loads,
)
from tests.conftest import query
from tests.events import T0, ds, new_run_id, run_event
from tests.test_labeling_sessions import ADD, _label, _session

JSON = {"Content-Type": "application/json"}


def _stored(db: Database) -> int:
    return int(query(db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n")[0]["n"])


def _event() -> dict[str, Any]:
    return run_event("COMPLETE", new_run_id(), ("airflow", "bad-input"), T0,
                     outputs=[ds("pg", "public.t", fields=["a", "b"])])


def _post_text(client: TestClient, text: str) -> Any:
    return client.post("/api/v1/lineage", content=text.encode("utf-8", "surrogatepass"),
                       headers=JSON)


def _with_facet_value(value_json: str) -> str:
    """An event whose run carries a custom facet holding ``value_json`` verbatim."""
    text = json.dumps({**_event(), "run": {**_event()["run"], "facets": {
        "custom": {"_producer": "p", "_schemaURL": "https://x/y.json#/$defs/Custom",
                   "value": "PLACEHOLDER"}}}})
    return text.replace('"PLACEHOLDER"', value_json)


@pytest.mark.parametrize(("value", "problem"), [
    ('"\\ud800"', "lone surrogate"),
    ("NaN", "NaN is not a JSON number"),
    ("Infinity", "Infinity is not a JSON number"),
    ("-Infinity", "-Infinity is not a JSON number"),
    ("1e400", "not finite"),
    (str(2**63), "64-bit range"),
    (str(-(2**63) - 1), "64-bit range"),
    ("9" * 5000, "digits"),
])
def test_values_json_or_neo4j_cannot_carry_are_422_or_400(client: TestClient, db: Database,
                                                          value: str, problem: str) -> None:
    answer = _post_text(client, _with_facet_value(value))
    assert answer.status_code in (400, 422), answer.text
    assert problem in answer.json()["message"]
    if answer.status_code == 422:
        assert answer.json()["field"] == "run.facets.custom.value"
    batch = client.post("/api/v1/lineage/batch",
                        content=f"[{_with_facet_value(value)}]".encode("utf-8", "surrogatepass"),
                        headers=JSON)
    assert batch.status_code in (200, 400), batch.text
    if batch.status_code == 200:
        assert batch.json()["results"][0]["status"] == "rejected"
    assert _stored(db) == 0


def test_an_ordinal_position_beyond_int64_names_the_field(client: TestClient,
                                                          db: Database) -> None:
    event = _event()
    event["outputs"][0]["facets"]["schema"]["fields"][1]["ordinalPosition"] = 2**64
    answer = client.post("/api/v1/lineage", content=json.dumps(event), headers=JSON)
    assert answer.status_code == 422
    assert answer.json()["field"] == "outputs[0].facets.schema.fields[1].ordinalPosition"
    assert _stored(db) == 0


@pytest.mark.parametrize("path", ["/api/v1/lineage", "/api/v1/lineage/batch",
                                  "/api/v1/scenes", "/graphql"])
def test_json_nested_beyond_the_parser_is_a_400(client: TestClient, db: Database,
                                                path: str) -> None:
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    answer = client.post(path, content=deep.encode(), headers=JSON)
    if path.endswith("/batch"):  # the batch answers per event: that one line is rejected
        assert answer.status_code == 200
        [result] = answer.json()["results"]
        assert result["status"] == "rejected" and "nested deeper" in result["error"]
    else:
        assert 400 <= answer.status_code < 500, answer.text[:300]
    assert _stored(db) == 0


def test_json_nested_deeper_than_the_limit_names_the_place(client: TestClient,
                                                           db: Database) -> None:
    nested: Any = 1
    for _ in range(MAX_DEPTH + 5):
        nested = [nested]
    answer = _post_text(client, _with_facet_value(json.dumps(nested)))
    assert answer.status_code == 422
    assert "nested deeper than" in answer.json()["message"]
    assert answer.json()["field"].startswith("run.facets.custom.value[0]")


def test_a_lone_surrogate_in_a_name_is_refused_not_a_500(client: TestClient,
                                                         db: Database) -> None:
    text = json.dumps(_event()).replace('"bad-input"', '"bad\\udc80input"')
    answer = _post_text(client, text)
    assert answer.status_code == 422 and answer.json()["field"] == "job.name"
    assert _stored(db) == 0


def test_scene_documents_are_checked_the_same_way(client: TestClient, db: Database) -> None:
    answer = client.post("/api/v1/scenes", content=b'{"sceneId": "s", "x": NaN}', headers=JSON)
    assert answer.status_code == 400 and "NaN" in answer.json()["message"]
    answer = client.post("/api/v1/scenes", content=b'{"sceneId": "\\ud800"}', headers=JSON)
    assert answer.status_code == 422 and answer.json()["field"] == "sceneId"
    assert _stored(db) == 0


def test_numeric_labels_of_any_size_are_refused_naming_the_label(client: TestClient,
                                                                 db: Database) -> None:
    session = _session(client)
    before = _stored(db)
    for value in (10**400, -(10**400)):
        body = json.dumps({"query": ADD, "variables": {
            "s": session, "l": [_label("confidence", 0.5), _label("confidence", 1)]}})
        body = body.replace('"value": 1,', f'"value": {value},')
        answer = client.post("/graphql", content=body.encode(), headers=JSON)
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == "variables.l[1].value"
        assert "64-bit range" in answer.json()["message"]
    surrogate = json.dumps({"query": ADD, "variables": {
        "s": session, "l": [_label("note", "ok", author="\ud800")]}})
    answer = client.post("/graphql", content=surrogate.encode(), headers=JSON)
    assert answer.status_code == 400 and answer.json()["field"] == "variables.l[0].author"
    assert _stored(db) == before


def test_the_labeling_service_refuses_them_too(client: TestClient, db: Database) -> None:
    """Behind GraphQL, for callers of the service itself (the demo, importers)."""
    from lineage_graph.labeling.labels import LabelingSessionService, LabelInput

    session = _session(client)
    before = _stored(db)
    service = LabelingSessionService(db)
    for label, field in [(LabelInput(item_id="f1", schema="confidence", value=10**400,
                                     source="HUMAN", author="ana"), "labels[0].value"),
                         (LabelInput(item_id="f\ud800", schema="note", value="ok",
                                     source="HUMAN", author="ana"), "labels[0].itemId")]:
        with pytest.raises(InvalidRequestError) as refused:
            service.add_labels(session, [label])
        assert refused.value.field == field
    assert _stored(db) == before


def test_graphql_bodies_are_capped(db: Database, neo4j_server: Any) -> None:
    from dataclasses import replace

    from lineage_graph.web.app import create_app

    app = create_app(replace(neo4j_server, graphql_max_bytes=200))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        small = client.post("/graphql", json={"query": "{ models(limit: 1) { id } }"})
        assert small.status_code == 200
        big = client.post("/graphql", json={"query": "{ models(limit: 1) { id } }" + " " * 300})
        assert big.status_code == 413
        assert "LINEAGE_GRAPH_GRAPHQL_MAX_BYTES" in big.json()["message"]


def _guarded(neo4j_server: Any, messages: list[dict[str, Any]], declared: int
             ) -> tuple[list[dict[str, Any]], list[str]]:
    """Run the request guards alone (limit 200 bytes) on a GraphQL POST whose body arrives
    as ``messages`` under a declared Content-Length: what they sent, and whether the app
    behind them was reached."""
    import asyncio
    from dataclasses import replace

    from lineage_graph.web.guards import RequestGuards

    reached: list[str] = []

    async def downstream(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    guards = RequestGuards(downstream, replace(neo4j_server, graphql_max_bytes=200),
                           auth_enabled=True)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql",
             "query_string": b"", "root_path": "", "scheme": "http",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 1),
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(declared).encode()), (b"host", b"127.0.0.1")]}
    asyncio.run(guards(scope, receive, send))
    return sent, reached


def test_a_graphql_body_longer_than_it_declared_is_capped_while_read(neo4j_server: Any) -> None:
    """The guard reads a GraphQL body before strawberry does and stops at the limit, whatever
    Content-Length said (h11 takes a chunked body under any Content-Length): 413, and nothing
    downstream runs."""
    body = b'{"query": "{ models(limit: 1) { id } }"' + b" " * 300 + b"}"
    sent, reached = _guarded(neo4j_server, [
        {"type": "http.request", "body": body[:150], "more_body": True},
        {"type": "http.request", "body": body[150:], "more_body": False}], declared=150)
    assert sent[0]["status"] == 413 and not reached
    assert b"LINEAGE_GRAPH_GRAPHQL_MAX_BYTES" in sent[1]["body"]


def test_a_client_gone_mid_body_reaches_nothing(neo4j_server: Any) -> None:
    """Even when what arrived before the disconnect is valid JSON: no key lookup, no query."""
    sent, reached = _guarded(neo4j_server, [
        {"type": "http.request", "body": b'{"query": "{ models { id } }"}', "more_body": True},
        {"type": "http.disconnect"}], declared=100)
    assert sent == [] and reached == []


def _exchange(api_url: str, *pieces: bytes) -> bytes:
    """Send ``pieces`` over one socket to the served API, each in its own write, and read the
    answer until the server closes or a complete response head and body arrived."""
    import socket
    import time
    from urllib.parse import urlsplit

    where = urlsplit(api_url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        try:
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(0.01)  # separate reads on the server's side
        except OSError:
            pass  # the server answered and closed first
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith((b"}", b"bytes")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


@pytest.mark.parametrize(("framing", "answer"), [
    # No length up front: a GraphQL POST must declare one (the request guards)
    (b"Transfer-Encoding: chunked\r\n", b"HTTP/1.1 411 "),
    # Both framings at once (a request-smuggling shape): refused by the HTTP parser itself
    # (httptools), before the application sees a byte of it.
    (b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n", b"HTTP/1.1 400 "),
])
def test_a_chunked_graphql_body_over_the_limit_is_refused(api_url: str, framing: bytes,
                                                          answer: bytes) -> None:
    """Over a real socket to uvicorn: a chunked body of more than
    LINEAGE_GRAPH_GRAPHQL_MAX_BYTES (1 MiB) of valid JSON, with no length declared, or under a
    small Content-Length: neither reaches GraphQL."""
    body = b'{"query": "{ models(limit: 1) { id } }", "x": "' + b"a" * (1 << 20) + b'"}'
    pieces = [body[start:start + 65536] for start in range(0, len(body), 65536)]
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces]
    received = _exchange(api_url, b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  b"Content-Type: application/json\r\n" + framing + b"\r\n",
                         *chunks, b"0\r\n\r\n")
    assert received.split(b"\r\n", 1)[0].startswith(answer), received[:200]


def test_a_request_head_over_16_kib_is_refused_before_it_is_parsed(api_url: str) -> None:
    """llhttp takes a head of any size (h11 stopped at 16 KiB): web/server.py bounds it."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    answer = _exchange(api_url, head, *[b"a" * 4096] * 5, b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in answer.lower()
    # One endless header never reaches the parser whole: refused once past the bound.
    endless = _exchange(api_url, head, *[b"a" * 65536] * 64)
    assert endless.startswith(b"HTTP/1.1 431 "), endless[:200]


def test_heads_under_the_bound_are_served_whatever_their_reads(api_url: str) -> None:
    near = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 15000 + b"\r\n\r\n"
    assert _exchange(api_url, near).startswith(b"HTTP/1.1 200 ")
    # the blank line ending the head split between two reads
    assert _exchange(api_url, near[:-3], near[-3:]).startswith(b"HTTP/1.1 200 ")
    # a body that arrives with its head is not counted as head
    body = b'{"query": "{ models(limit: 1) { id } }", "x": "' + b"a" * 200_000 + b'"}'
    post = (b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body
    assert _exchange(api_url, post).startswith(b"HTTP/1.1 200 ")


def test_graphql_variables_sent_by_get_are_checked_like_a_body(client: TestClient) -> None:
    query = "query($n: Int) { models(limit: $n) { id } }"
    fine = client.get("/graphql", params={"query": query, "variables": '{"n": 1}'})
    assert fine.status_code == 200, fine.text
    for variables in ('{"n": NaN}', "[" * 5000 + "]" * 5000):
        refused = client.get("/graphql", params={"query": query, "variables": variables})
        assert refused.status_code == 400, refused.text
        assert "GraphQL variables parameter" in refused.json()["message"]


@pytest.mark.parametrize(("root_path", "paths"), [
    ("/lineage", ("/lineage/api/v1/lineage", "/lineage/graphql")),
    # A proxy that does not forward the prefix: routing serves /graphql, so the guards must see
    # /graphql too, not "raphql".
    ("/g", ("/api/v1/lineage", "/graphql")),
])
def test_body_guards_hold_behind_a_root_path(db: Database, neo4j_server: Any, root_path: str,
                                             paths: tuple[str, ...]) -> None:
    """The router strips the app's root path (a whole leading segment); the guards compare the
    same path, so a text/plain POST (a page's CSRF) is still 415 behind one."""
    from lineage_graph.web.app import create_app

    with TestClient(create_app(neo4j_server), base_url="http://127.0.0.1",
                    root_path=root_path) as client:
        for path in paths:
            answer = client.post(path, content=json.dumps(_event()),
                                 headers={"Content-Type": "text/plain"})
            assert answer.status_code == 415, (path, answer.status_code, answer.text)
    assert _stored(db) == 0


def _requests_counted(metrics: str, kind: str) -> float:
    prefix = f'lineage_graph_request_seconds_count{{kind="{kind}"}} '
    return next((float(line[len(prefix):]) for line in metrics.splitlines()
                 if line.startswith(prefix)), 0.0)


def test_request_durations_are_labelled_by_route_behind_a_root_path(neo4j_server: Any) -> None:
    """lineage_graph_request_seconds labels a request by the route it reaches, as the guards
    see it: behind a root path, GraphQL is still "graphql" and the REST API "rest"."""
    from lineage_graph.web.app import create_app

    with TestClient(create_app(neo4j_server), base_url="http://127.0.0.1",
                    root_path="/lineage") as client:
        before = client.get("/lineage/metrics").text
        assert client.post("/lineage/graphql",
                           json={"query": "{ __typename }"}).status_code == 200
        assert client.get("/lineage/api/v1/namespaces").status_code == 200
        after = client.get("/lineage/metrics").text
    for kind in ("graphql", "rest"):
        assert _requests_counted(after, kind) == _requests_counted(before, kind) + 1, kind


# -- gzip ---------------------------------------------------------------------------------------


def _gzip_post(client: TestClient, body: bytes, path: str = "/api/v1/lineage") -> Any:
    return client.post(path, content=body, headers={**JSON, "Content-Encoding": "gzip"})


def test_a_truncated_gzip_body_is_refused(client: TestClient, db: Database) -> None:
    whole = gzip.compress(json.dumps(_event()).encode())
    for cut in (len(whole) - 8, len(whole) - 1, len(whole) // 2):  # no checksum / half
        answer = _gzip_post(client, whole[:cut])
        assert answer.status_code == 400, (cut, answer.text)
        assert "gzip" in answer.json()["message"]
    assert _stored(db) == 0


def test_a_multi_member_gzip_body_is_refused_not_cut(client: TestClient, db: Database) -> None:
    first = gzip.compress(json.dumps([_event()]).encode())
    second = gzip.compress(json.dumps([_event()]).encode())
    answer = _gzip_post(client, first + second, "/api/v1/lineage/batch")
    assert answer.status_code == 400
    assert "after its first member" in answer.json()["message"]
    assert _gzip_post(client, first + b"junk", "/api/v1/lineage/batch").status_code == 400
    assert _stored(db) == 0
    assert _gzip_post(client, first, "/api/v1/lineage/batch").status_code == 200


# -- the checker itself, on open-ended input ----------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=30)


@given(_JSON_VALUES)
def test_whatever_the_checker_accepts_neo4j_and_json_can_carry(value: Any) -> None:
    problem = json_problem(value)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
        ok = True
    except (ValueError, UnicodeEncodeError):
        ok = False
    ints_fit = all(-(2**63) <= n < 2**63 for n in _ints(value))
    assert (problem is None) == (ok and ints_fit), (value, problem)
    if problem is None:
        assert loads(text) == value


def _unencodable(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"lone surrogate at character {exc.start} (not encodable as UTF-8)"
    return None


def _every_problem(value: Any, path: str = "", depth: int = 0) -> set[str]:
    """Every place and problem json_problem may name, by plain recursion: the reference the
    walk (iterative, places spelt out only at fault) is held to."""
    if depth > MAX_DEPTH:
        return {str(JsonValueError(path, f"nested deeper than {MAX_DEPTH} levels"))}
    found: set[str] = set()
    if isinstance(value, bool) or value is None:
        return found
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        found.add(str(JsonValueError(path, "integer out of the 64-bit range")))
    elif isinstance(value, float) and not math.isfinite(value):
        found.add(str(JsonValueError(path, "number is not finite (NaN, Infinity or too large)")))
    elif isinstance(value, str) and _unencodable(value):
        found.add(str(JsonValueError(path, _unencodable(value) or "")))
    elif isinstance(value, dict):
        for key, child in value.items():
            here = f"{path}.{key}" if path else str(key)
            if _unencodable(str(key)):
                found.add(str(JsonValueError(here, f"key: {_unencodable(str(key))}")))
            found |= _every_problem(child, here, depth + 1)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found |= _every_problem(child, f"{path}[{i}]", depth + 1)
    return found


@given(_JSON_VALUES, st.integers(min_value=MAX_DEPTH - 3, max_value=MAX_DEPTH + 1),
       st.booleans())
def test_the_walk_names_a_problem_exactly_when_there_is_one(
        value: Any, depth: int, in_dicts: bool) -> None:
    """json_problem spells out a place only for a value at fault: it must find a problem
    exactly when plain recursion finds one, name one of them with its place, at the depth
    limit too."""
    nested = value
    for level in range(depth):
        nested = {f"k{level}": nested} if in_dicts else [nested]
    for candidate in (value, nested):
        problem, every = json_problem(candidate), _every_problem(candidate)
        assert (problem is None) == (not every), candidate
        assert problem is None or str(problem) in every, (str(problem), every)


def _ints(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [n for v in value for n in _ints(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _ints(v)]
    return []


def test_loads_raises_only_its_own_error() -> None:
    for text in ("[" * 100_000, "NaN", "1" * 5000, '{"a": }', "\ud800"):
        with pytest.raises(JsonValueError):
            loads(text)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_time_out_of_range_in_utc_is_422_naming_it(client: TestClient, db: Database,
                                                     when: str) -> None:
    event = {**_event(), "eventTime": when}
    answer = client.post("/api/v1/lineage", json=event)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "eventTime"
    batch = client.post("/api/v1/lineage/batch", json=[_event(), event])
    assert [r["status"] for r in batch.json()["results"]] == ["accepted", "rejected"]
    assert _stored(db) > 0  # only the good event of the batch
