"""Our typed facet models must judge facets exactly as the official OpenLineage JSON Schemas do
(validated locally with a registry of ../shared's schema files; nothing is fetched)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from lineage_graph.openlineage.facets import (
    CUSTOM_FACETS,
    FACET_MODELS,
    FacetScope,
    parse_facets,
)
from lineage_graph.openlineage.parse import parse_event
from tests.conftest import CONFORMANCE

SPEC = CONFORMANCE / "spec"
OFFICIAL_SCHEMA: dict[tuple[FacetScope, str], str] = {
    ("run", "parent"): "ParentRunFacet",
    ("run", "nominalTime"): "NominalTimeRunFacet",
    ("run", "errorMessage"): "ErrorMessageRunFacet",
    ("run", "processing_engine"): "ProcessingEngineRunFacet",
    ("job", "sql"): "SQLJobFacet",
    ("job", "jobType"): "JobTypeJobFacet",
    ("job", "documentation"): "DocumentationJobFacet",
    ("job", "ownership"): "OwnershipJobFacet",
    ("dataset", "schema"): "SchemaDatasetFacet",
    ("dataset", "columnLineage"): "ColumnLineageDatasetFacet",
    ("dataset", "dataSource"): "DatasourceDatasetFacet",
    ("dataset", "symlinks"): "SymlinksDatasetFacet",
    ("dataset", "version"): "DatasetVersionDatasetFacet",
    ("dataset", "documentation"): "DocumentationDatasetFacet",
    ("dataset", "ownership"): "OwnershipDatasetFacet",
    ("dataset", "dataQualityMetrics"): "DataQualityMetricsDatasetFacet",
    ("input", "dataQualityMetrics"): "DataQualityMetricsInputDatasetFacet",
    ("input", "inputStatistics"): "InputStatisticsInputDatasetFacet",
    ("output", "outputStatistics"): "OutputStatisticsOutputDatasetFacet",
}


def _registry() -> tuple[Registry, dict[str, str]]:
    resources = []
    ids: dict[str, str] = {}
    for path in [SPEC / "OpenLineage.json", *sorted((SPEC / "facets").glob("*.json"))]:
        doc = json.loads(path.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
        ids[path.stem] = doc["$id"]
    return Registry().with_resources(resources), ids


REGISTRY, SCHEMA_IDS = _registry()


def official_verdict(scope: FacetScope, name: str, payload: Any) -> bool:
    schema_name = OFFICIAL_SCHEMA[(scope, name)]
    validator = Draft202012Validator(
        {"$ref": f"{SCHEMA_IDS[schema_name]}#/$defs/{schema_name}"}, registry=REGISTRY
    )
    return validator.is_valid(payload)


def _facets_in(path: Path) -> list[tuple[FacetScope, str, Any]]:
    event = json.loads(path.read_text())
    parsed = parse_event(event)
    return [(f.scope, f.name, f.raw) for f in parsed.all_facets()]


ALL_EVENTS = sorted((CONFORMANCE / "events").glob("*/*.json"))
INTERPRETED = [
    pytest.param(scope, name, raw, id=f"{path.name}:{scope}.{name}")
    for path in ALL_EVENTS if path.name != "event_no_run_id.json"
    for scope, name, raw in _facets_in(path)
    if (scope, name) in FACET_MODELS
]


def test_every_interpreted_facet_has_an_official_or_own_schema() -> None:
    assert set(FACET_MODELS) - CUSTOM_FACETS == set(OFFICIAL_SCHEMA)
    schema_dir = Path(__file__).resolve().parents[1] / "schema" / "facets"
    for key in CUSTOM_FACETS:
        assert (schema_dir / f"{FACET_MODELS[key].__name__}.json").is_file(), key
    assert len(INTERPRETED) > 40


@pytest.mark.parametrize(("scope", "name", "raw"), INTERPRETED)
def test_typed_model_agrees_with_official_schema(scope: FacetScope, name: str, raw: Any) -> None:
    [parsed] = parse_facets(scope, {name: raw}, "facets")
    assert (not parsed.malformed) == official_verdict(scope, name, raw), parsed.error


def test_malformed_facet_error_names_the_field() -> None:
    [parsed] = parse_facets(
        "run", {"parent": {"_producer": "p", "_schemaURL": "s", "run": {},
                           "job": {"namespace": "n", "name": "j"}}}, "run.facets")
    assert parsed.malformed
    assert parsed.error is not None and "run.runId" in parsed.error


# -- facets seen again ---------------------------------------------------------------------------


def test_a_facet_sent_again_reads_as_the_first_time_without_a_second_validation() -> None:
    """The same schema facet in a run's START and COMPLETE, and a malformed one in both:
    the second event gets the first's validated model (not validated again) and the same
    error, each at its own place."""
    from tests.events import T0, ds, facet, new_run_id, run_event

    table = ds("s3://lake", "frames", ["frame_id", "ts"])
    broken = {"ownership": facet("OwnershipJobFacet", owners="not a list")}
    run = new_run_id()
    first, second = (parse_event(run_event(state, run, ("spark", "cache"), T0, inputs=[table],
                                           job_facets=broken))
                     for state in ("START", "COMPLETE"))
    [schema_1], [schema_2] = first.inputs[0].facets, second.inputs[0].facets
    assert schema_1.model is not None and schema_2.model is schema_1.model
    assert schema_2.canonical_payload == schema_1.canonical_payload
    [owners_1], [owners_2] = first.job_facets, second.job_facets
    assert owners_1.malformed and owners_2.error == owners_1.error
    assert owners_2.path == "job.facets.ownership"
    other = ds("s3://lake", "frames", ["frame_id", "ts", "camera"])
    third = parse_event(run_event("START", new_run_id(), ("spark", "cache"), T0, inputs=[other]))
    assert third.inputs[0].facets[0].model is not schema_1.model  # another payload


def test_the_facets_remembered_are_bounded() -> None:
    from lineage_graph.openlineage.facets import SchemaDatasetFacet, _RecentlyValidated

    recent = _RecentlyValidated(size=2)
    payloads = [{"_producer": "p", "_schemaURL": "u", "fields": [{"name": f"c{i}"}]}
                for i in range(3)]
    models = [recent.validated("dataset", "schema", json.dumps(raw), raw, SchemaDatasetFacet)[0]
              for raw in payloads]
    assert all(m is not None for m in models)
    assert len(recent._found) == 2
    again = recent.validated("dataset", "schema", json.dumps(payloads[0]), payloads[0],
                             SchemaDatasetFacet)[0]
    assert again is not models[0]  # the oldest was let go, so validated anew
