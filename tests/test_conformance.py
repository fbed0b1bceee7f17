"""OpenLineage conformance: the spec's own examples, through the real API into Neo4j."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from tests.conftest import CONFORMANCE, query

VALID = sorted((CONFORMANCE / "events" / "valid").glob("*.json")) + sorted(
    (CONFORMANCE / "events" / "valid-facets").glob("*.json")
)
INVALID_FACET = sorted((CONFORMANCE / "events" / "invalid").glob("event_invalid_*_facet.json"))


def _distinct_facets(event: dict[str, Any]) -> set[tuple[str, ...]]:
    """Facets as the graph keys them: per (owner, place, name). A dataset listed as both input
    and output with the same facet name holds that facet once."""
    keys: set[tuple[str, ...]] = set()
    for key in ("run", "job"):
        keys |= {(key, name) for name in ((event.get(key) or {}).get("facets") or {})}
    datasets = [*(event.get("inputs") or []), *(event.get("outputs") or [])]
    if "dataset" in event:
        datasets.append(event["dataset"])
    for dataset in datasets:
        owner = f"{dataset['namespace']}:{dataset['name']}"
        keys |= {(owner, name) for name in dataset.get("facets") or {}}
        for io in ("inputFacets", "outputFacets"):
            keys |= {(owner, io, name) for name in dataset.get(io) or {}}
    return keys


def test_conformance_data_is_present() -> None:
    assert len(VALID) >= 40, "../shared/conformance/openlineage is missing"
    assert len(INVALID_FACET) == 5


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_event_is_accepted_with_its_facets_kept(
    client: TestClient, db: Database, path: Path
) -> None:
    text = path.read_text()
    response = client.post("/api/v1/lineage", content=text,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "accepted"
    # A facet that breaks its official schema is flagged (test_facet_models checks that our
    # verdict matches the official JSON Schema's), but it never rejects the event.
    flagged = {w["facet"].rsplit(".", 1)[1] for w in body.get("warnings", [])}
    stored = query(db, "MATCH (e:Event) RETURN e.raw AS raw")
    assert [json.loads(r["raw"]) for r in stored] == [json.loads(text)]
    facets = query(db, "MATCH (f:Facet) RETURN f.payload AS payload, f.malformed AS malformed")
    assert len(facets) == len(_distinct_facets(json.loads(text)))
    assert sum(1 for f in facets if f["malformed"]) == len(flagged)


def test_event_without_run_id_is_rejected_naming_the_field(
    client: TestClient, db: Database
) -> None:
    text = (CONFORMANCE / "events" / "invalid" / "event_no_run_id.json").read_text()
    response = client.post("/api/v1/lineage", content=text,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["field"] == "run.runId"
    assert "run.runId" in response.json()["message"]
    assert query(db, "MATCH (n) WHERE NOT n:Sequence RETURN count(n) AS n") == [{"n": 0}]


@pytest.mark.parametrize("path", INVALID_FACET, ids=lambda p: p.name)
def test_malformed_facet_is_kept_raw_flagged_and_reported(
    client: TestClient, db: Database, path: Path
) -> None:
    event = json.loads(path.read_text())
    response = client.post("/api/v1/lineage", json=event)
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert len(warnings) == 1
    facet_path = warnings[0]["facet"]
    facet_name = facet_path.rsplit(".", 1)[1]
    flagged = query(
        db,
        "MATCH (o:LineageNode)-[:HAS_FACET]->(f:Facet {malformed: true}) "
        "RETURN f.name AS name, f.payload AS payload, f.error AS error, "
        "o.malformedFacets AS flags",
    )
    assert len(flagged) == 1
    assert flagged[0]["name"] == facet_name
    assert flagged[0]["error"]
    assert any(flag.endswith(facet_name) for flag in flagged[0]["flags"])
    # kept raw: the stored payload is exactly what the emitter sent
    container = _find_facet(event, facet_name)
    assert json.loads(flagged[0]["payload"]) == container


def _find_facet(event: dict[str, Any], name: str) -> Any:
    for key in ("run", "job"):
        if name in ((event.get(key) or {}).get("facets") or {}):
            return event[key]["facets"][name]
    for key in ("inputs", "outputs"):
        for dataset in event.get(key) or []:
            for sub in ("facets", "inputFacets", "outputFacets"):
                if name in (dataset.get(sub) or {}):
                    return dataset[sub][name]
    raise AssertionError(f"facet {name} not in event")
