"""Typed models of the OpenLineage core event (spec 2-0-x): RunEvent, DatasetEvent, JobEvent.

Validation is local (no schema is fetched at run time) and follows the spec's required fields
and types; tests check these models against the official JSON Schemas in ../shared. Unknown
top-level keys are allowed, as the spec allows. Facets are validated separately
(:mod:`lineage_graph.openlineage.facets`), because a malformed facet must not reject its event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from lineage_graph.ids import canonical_run_id
from lineage_graph.openlineage.facets import KEY_TEXT_MAX

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


def _as_utc(value: datetime) -> datetime:
    # Emitters send naive timestamps (the spec's own examples do); read them as UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError("time out of range once converted to UTC") from exc


EventTime = Annotated[datetime, AfterValidator(_as_utc)]
FacetMap = dict[str, Any]


class EventType(StrEnum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"

    @property
    def is_terminal(self) -> bool:
        return self in (EventType.COMPLETE, EventType.ABORT, EventType.FAIL)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# Any non-empty runId up to a key's length: the spec asks for a UUID, but real producers send
# others (the compatibility scenarios' "run_id"), and Marquez-era emitters too. A UUID is put in
# its canonical form; another runId is kept, with a warning (ParsedEvent.warnings), and stored
# scoped by its job (ids.scoped_run_id).
RunId = Annotated[str, StringConstraints(min_length=1, max_length=KEY_TEXT_MAX),
                  AfterValidator(canonical_run_id)]


class RunRef(_Open):
    runId: RunId
    facets: FacetMap = Field(default_factory=dict)


class JobRef(_Open):
    namespace: NonEmpty
    name: NonEmpty
    facets: FacetMap = Field(default_factory=dict)


class DatasetRef(_Open):
    namespace: NonEmpty
    name: NonEmpty
    facets: FacetMap = Field(default_factory=dict)


class InputDataset(DatasetRef):
    inputFacets: FacetMap = Field(default_factory=dict)


class OutputDataset(DatasetRef):
    outputFacets: FacetMap = Field(default_factory=dict)


# What an event without ``schemaURL`` is read as (Marquez accepts such events; its own test
# events and quickstart-era emitters omit it).
ASSUMED_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


class BaseEvent(_Open):
    eventTime: EventTime
    producer: NonEmpty
    schemaURL: NonEmpty | None = None


class RunEvent(BaseEvent):
    eventType: EventType | None = None
    run: RunRef
    job: JobRef
    inputs: list[InputDataset] = Field(default_factory=list)
    outputs: list[OutputDataset] = Field(default_factory=list)


class DatasetEvent(BaseEvent):
    dataset: DatasetRef


class JobEvent(BaseEvent):
    job: JobRef
    inputs: list[InputDataset] = Field(default_factory=list)
    outputs: list[OutputDataset] = Field(default_factory=list)


AnyEvent = RunEvent | DatasetEvent | JobEvent


_KIND_BY_FRAGMENT: dict[str, type[AnyEvent]] = {
    "RunEvent": RunEvent, "DatasetEvent": DatasetEvent, "JobEvent": JobEvent}


def event_model_for(raw: dict[str, Any]) -> type[AnyEvent]:
    """Which of the three event kinds a JSON object is: the one its ``schemaURL`` fragment
    names (``...#/$defs/JobEvent``), else by its keys, as the spec's ``oneOf`` does. The
    fragment comes first because a JobEvent may carry ``eventType`` (Marquez's do)."""
    url = raw.get("schemaURL")
    if isinstance(url, str) and "#/$defs/" in url:
        named = _KIND_BY_FRAGMENT.get(url.rsplit("#/$defs/", 1)[1])
        if named is not None:
            return named
    return event_model_by_keys(raw)


def event_model_by_keys(raw: dict[str, Any]) -> type[AnyEvent]:
    """The kind the keys say (the spec's ``oneOf``): the fallback when the fragment names a
    kind the event is not (a DatasetEvent sent with ``#/$defs/RunEvent``)."""
    if "run" in raw or "eventType" in raw:
        return RunEvent
    if "dataset" in raw:
        return DatasetEvent
    return JobEvent
