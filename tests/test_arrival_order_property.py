"""Property: however the events of several runs are shuffled, duplicated and split into
batches, the graph comes out the same as when they arrive in order."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_graph.db.connection import Database
from lineage_graph.ingest.service import IngestService
from tests.conftest import graph_snapshot, wipe
from tests.events import (
    T0,
    ds,
    facet,
    model_evaluation,
    model_training,
    new_run_id,
    pipeline,
    run_event,
)


def _scenario() -> list[dict[str, Any]]:
    events = pipeline(n_runs=2)
    flaky = new_run_id()
    job = ("spark", "flaky_export")
    out = [ds("s3://lake", "exports", ["id"], version="2026-03-01")]
    events += [
        run_event("START", flaky, job, T0, inputs=[ds("s3://lake", "features.frames")]),
        run_event("RUNNING", flaky, job, T0 + timedelta(minutes=1), outputs=out,
                  run_facets={"nominalTime": facet("NominalTimeRunFacet",
                                                   nominalStartTime="2026-03-01T00:00:00Z")}),
        run_event("FAIL", flaky, job, T0 + timedelta(minutes=2), run_facets={
            "errorMessage": facet("ErrorMessageRunFacet", message="OOM",
                                  programmingLanguage="python")}),
        run_event("OTHER", flaky, job, T0 + timedelta(minutes=3), job_facets={
            "sql": facet("SQLJobFacet", query="SELECT id FROM features")}),
    ]
    # Equal times: a START and a RUNNING of one run (the rank decides), and two job facets of
    # another run with different payloads (the payload hash decides).
    tied = new_run_id()
    events += [run_event(state, tied, ("spark", "tied"), T0 + timedelta(minutes=4),
                         job_facets={"sql": facet("SQLJobFacet", query=query)})
               for state, query in (("START", "SELECT a"), ("RUNNING", "SELECT b"))]
    # Models, evaluations and labels made elsewhere: each merge rule of their facets too.
    events += model_training("v1", "sha256:aaa", tensors={"embed": "sha256:e", "head": "sha256:h"})
    events += model_training("v2", "sha256:bbb", derived=["sha256:aaa"],
                             tensors={"embed": "sha256:e", "head": "sha256:h2"})
    evaluation = model_evaluation("v2", [{"name": "mAP", "value": 0.4}])
    final = model_evaluation("v2", [{"name": "mAP", "value": 0.6}, {"name": "mAP", "value": 0.5,
                                     "slice": {"dimensions": {"weather": "rain"}}}])
    final["run"]["runId"] = evaluation["run"]["runId"]
    final["eventTime"] = (T0 + timedelta(hours=13)).isoformat()
    events += [evaluation, final]
    for hour, schemas in ((7, [{"name": "defect", "version": 1}]),
                          (8, [{"name": "defect", "version": 2}])):
        labels = ds("s3://labels", "vendor")
        labels["facets"]["labelingSchema"] = facet("LabelingSchemaDatasetFacet", schemas=schemas)
        events.append({"eventTime": (T0 + timedelta(hours=hour)).isoformat(),
                       "producer": "https://example.com", "dataset": labels,
                       "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"
                                    "#/$defs/DatasetEvent"})
    return events


EVENTS = _scenario()


def _ingest_in_batches(service: IngestService, events: list[dict[str, Any]], cuts: list[int]
                       ) -> None:
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        result = service.ingest_raw([(e, None) for e in events[start:end]])
        assert result.count("rejected") == 0


def test_shuffled_duplicated_batched_events_give_the_same_graph(session_db: Database) -> None:
    wipe(session_db)
    service = IngestService(session_db)
    _ingest_in_batches(service, EVENTS, [])
    expected = graph_snapshot(session_db)

    @settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(
        order=st.permutations(list(range(len(EVENTS)))),
        duplicates=st.lists(st.integers(0, len(EVENTS) - 1), max_size=8),
        cuts=st.lists(st.integers(0, 10_000), max_size=5),
    )
    def check(order: list[int], duplicates: list[int], cuts: list[int]) -> None:
        wipe(session_db)
        arrival = [EVENTS[i] for i in order] + [EVENTS[i] for i in duplicates]
        _ingest_in_batches(service, arrival, cuts)
        assert graph_snapshot(session_db) == expected

    check()
