"""Parse one OpenLineage event into a :class:`ParsedEvent`, or say which field is wrong."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from lineage_graph.errors import InvalidEventError
from lineage_graph.ids import is_uuid
from lineage_graph.json_limits import JsonValueError, loads, scan_json
from lineage_graph.openlineage.canonical import canonical_json
from lineage_graph.openlineage.errors import first_error
from lineage_graph.openlineage.facets import ParsedFacet, parse_facets
from lineage_graph.openlineage.models import (
    ASSUMED_SCHEMA_URL,
    AnyEvent,
    DatasetEvent,
    InputDataset,
    JobEvent,
    OutputDataset,
    RunEvent,
    event_model_by_keys,
    event_model_for,
)


@dataclass(frozen=True)
class ParsedDataset:
    namespace: str
    name: str
    facets: list[ParsedFacet]
    io_facets: list[ParsedFacet]  # inputFacets or outputFacets


@dataclass(frozen=True)
class ParsedEvent:
    raw: dict[str, Any]
    text: str  # the event as received (kept verbatim in the event record)
    sha256: str
    event: AnyEvent
    run_facets: list[ParsedFacet]
    job_facets: list[ParsedFacet]
    inputs: list[ParsedDataset]
    outputs: list[ParsedDataset]
    datasets: list[ParsedDataset]  # DatasetEvent's dataset

    @property
    def kind(self) -> str:
        return type(self.event).__name__

    def all_facets(self) -> list[ParsedFacet]:
        found = [*self.run_facets, *self.job_facets]
        for ds in (*self.inputs, *self.outputs, *self.datasets):
            found.extend(ds.facets)
            found.extend(ds.io_facets)
        return found

    def warnings(self) -> list[dict[str, str]]:
        """What was accepted but not as sent: ``{"field", "problem"}`` for the event itself
        (a missing ``schemaURL``), ``{"facet", "problem"}`` for each malformed facet."""
        found = [] if self.event.schemaURL is not None else [
            {"field": "schemaURL", "problem": f"missing: read as {ASSUMED_SCHEMA_URL}"}]
        if isinstance(self.event, RunEvent) and not is_uuid(self.event.run.runId):
            found.append({"field": "run.runId",
                          "problem": "not a UUID as the spec asks: kept, scoped by its job"})
        found += [{"facet": f.path, "problem": f.error or ""}
                  for f in self.all_facets() if f.malformed]
        return found


def parse_event_text(text: str, recorded: bool = False) -> ParsedEvent:
    """``recorded``: the text is a record, accepted earlier (perhaps before today's limits on
    values such as NaN or 64-bit integers, which Neo4j then stored inside facet JSON): read it
    as it was read then, so replaying it cannot fail where the first write did not."""
    if recorded:
        return parse_event(json.loads(text), text, check_values=False)
    try:
        raw = loads(text, check=False)  # parse_event checks the values
    except JsonValueError as exc:
        raise InvalidEventError("", f"body is {exc.problem}") from exc
    return parse_event(raw, text)


@dataclass(frozen=True)
class UnparseableEvent:
    """Stands for an input item that is not JSON at all (e.g. a broken NDJSON line)."""

    problem: str


def parse_event(raw: Any, text: str | None = None, check_values: bool = True) -> ParsedEvent:
    if isinstance(raw, UnparseableEvent):
        raise InvalidEventError("", raw.problem)
    if not isinstance(raw, dict):
        raise InvalidEventError("", f"an event must be a JSON object, got {type(raw).__name__}")
    scan = scan_json(raw) if check_values else None
    if scan is not None and scan.problem is not None:
        # before anything is acknowledged: Neo4j or JSON would refuse it
        raise InvalidEventError(scan.problem.path, scan.problem.problem)
    # The event's facets are parts of it: floatless with it.
    floatless = scan is not None and scan.floatless
    model = event_model_for(raw)
    try:
        event: AnyEvent = model.model_validate(raw)
    except ValidationError as exc:
        by_keys = event_model_by_keys(raw)
        try:
            if by_keys is model:
                raise
            event = by_keys.model_validate(raw)
        except ValidationError:
            field, problem = first_error(exc)
            raise InvalidEventError(field, problem) from exc
    canonical = canonical_json(raw, floatless)
    return ParsedEvent(
        raw=raw,
        # Without the text as received (an item of a JSON array), the canonical form is kept.
        text=text if text is not None else canonical,
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        event=event,
        run_facets=(
            parse_facets("run", event.run.facets, "run.facets", floatless)
            if isinstance(event, RunEvent) else []
        ),
        job_facets=(
            parse_facets("job", event.job.facets, "job.facets", floatless)
            if isinstance(event, RunEvent | JobEvent) else []
        ),
        inputs=(
            [_dataset(d, f"inputs[{i}]", floatless) for i, d in enumerate(event.inputs)]
            if isinstance(event, RunEvent | JobEvent) else []
        ),
        outputs=(
            [_dataset(d, f"outputs[{i}]", floatless) for i, d in enumerate(event.outputs)]
            if isinstance(event, RunEvent | JobEvent) else []
        ),
        datasets=(
            [ParsedDataset(event.dataset.namespace, event.dataset.name,
                           parse_facets("dataset", event.dataset.facets, "dataset.facets",
                                        floatless), [])]
            if isinstance(event, DatasetEvent) else []
        ),
    )


def _dataset(ds: InputDataset | OutputDataset, path: str, floatless: bool) -> ParsedDataset:
    if isinstance(ds, InputDataset):
        io = parse_facets("input", ds.inputFacets, f"{path}.inputFacets", floatless)
    else:
        io = parse_facets("output", ds.outputFacets, f"{path}.outputFacets", floatless)
    facets = parse_facets("dataset", ds.facets, f"{path}.facets", floatless)
    return ParsedDataset(ds.namespace, ds.name, facets, io)

