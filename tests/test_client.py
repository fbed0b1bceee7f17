"""The client the platform's own commands use (`--api`, the demo, the importers): one error
policy. What cannot reach the API, what the API refuses and a GraphQL error are each one
RemoteApiError naming the URL and the API's own message."""

from __future__ import annotations

import pytest

from lineage_graph.client import LineageGraphClient
from lineage_graph.db.connection import Database
from lineage_graph.errors import RemoteApiError
from tests.conftest import query
from tests.events import T0, new_run_id, run_event


def test_events_go_through_the_batch_path(db: Database, api_url: str) -> None:
    events = [run_event("START", new_run_id(), ("ns", "job"), T0), {"eventType": "START"}]
    with LineageGraphClient(api_url) as client:
        results = client.post_events(events)
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert query(db, "MATCH (e:Event {recordType: 'openlineage'}) RETURN count(e) AS n") == [
        {"n": 1}]


def test_refusals_and_errors_are_one_remote_api_error(db: Database, api_url: str) -> None:
    with LineageGraphClient(api_url) as client:
        with pytest.raises(RemoteApiError, match=r"/api/v1/scenes answered 422: .*sceneId"):
            client.post_scene({"version": "1"})
        with pytest.raises(RemoteApiError, match=r"GraphQL error: .*no node with id"):
            client.graphql('{ lineage(nodeId: "dataset:nope:nope") { nodes { id } } }')
        assert client.graphql("{ __typename }") == {"__typename": "Query"}
    with LineageGraphClient("http://127.0.0.1:9", timeout_s=5) as unreachable, \
            pytest.raises(RemoteApiError, match=r"cannot reach http://127\.0\.0\.1:9/graphql"):
        unreachable.graphql("{ __typename }")
