"""Turn parsed events into a :class:`WritePlan`: the rows the batched Cypher writes consume.

Every merge rule is a *maximum by a sort key* or a *set union*, so the result does not depend on
arrival order (see docs/ingestion.md):

- run state: terminal beats START/RUNNING; otherwise the later ``eventTime`` wins; ties are
  broken by a fixed rank so that shuffled input gives the same graph;
- facets: per (owner, place, name), the one with the later ``eventTime`` wins (ties: payload hash);
- inputs, outputs, edges: unioned;
- dataset versions: created by each run that writes a dataset (named by its ``version`` facet,
  else by the run id), ``createdAt`` = the latest writing event's time.

Events of one batch are folded here first, then merged with what Neo4j holds by the same rules,
so the Cypher sees at most one row per key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from lineage_graph.db.lineage_rows import (
    AliasRow,
    ColumnLineageRow,
    EvaluationRow,
    FacetRow,
    FieldRow,
    JobEdgeRow,
    MetricRow,
    ModelRow,
    NamedNodeRow,
    PlanRows,
    RecordRow,
    RunRow,
    SceneLinkRow,
    SchemaLinkRow,
    TensorRow,
    VariantRef,
    VersionedDatasetRow,
    VersionRow,
)
from lineage_graph.ids import (
    dataset_id,
    dataset_version_id,
    facet_id,
    field_id,
    job_id,
    labeling_schema_version_id,
    metric_id,
    model_version_id,
    namespace_key,
    placeholder_scene_variant_id,
    run_node_id,
    scoped_run_id,
    tensor_key,
)
from lineage_graph.ledger.receipt import Receipt
from lineage_graph.openlineage.facets import (
    KEY_TEXT_MAX,
    ColumnLineageDatasetFacet,
    DatasetVersionDatasetFacet,
    EvaluationRunFacet,
    LabelingSchemaDatasetFacet,
    MlModelDatasetFacet,
    ParentRunFacet,
    ParsedFacet,
    SchemaDatasetFacet,
    SchemaField,
    SymlinksDatasetFacet,
    UsdSceneDatasetFacet,
)
from lineage_graph.openlineage.models import DatasetEvent, EventType, JobEvent, RunEvent
from lineage_graph.openlineage.parse import ParsedDataset, ParsedEvent

# Among events with the same eventTime and terminality, the higher rank wins (arbitrary but fixed).
_STATE_RANK = {
    EventType.START: 1, EventType.RUNNING: 2,
    EventType.ABORT: 3, EventType.FAIL: 4, EventType.COMPLETE: 5,
}


_CODE_FACETS = frozenset({"sql", "sourceCode", "sourceCodeLocation"})


@lru_cache(maxsize=65536)
def time_key(t: datetime) -> str:
    """A string that sorts like the instant (UTC, fixed width)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class WritePlan:
    """Rows for each batched write statement; each list holds at most one row per key."""

    events: list[RecordRow[datetime]] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)
    jobs: dict[str, NamedNodeRow] = field(default_factory=dict)
    datasets: dict[str, NamedNodeRow] = field(default_factory=dict)
    runs: dict[str, RunRow[datetime]] = field(default_factory=dict)
    parents: set[tuple[str, str]] = field(default_factory=set)  # (child runId, parent runId)
    # Every (job id, runId) an event or a parent facet showed: a run row keeps one job, but
    # HAS_RUN must get every pair, as separate requests would give it.
    run_jobs: set[tuple[str, str]] = field(default_factory=set)
    # Edges -> the earliest eventTime that showed them (``since``, for lineage asOf).
    # (job, dataset) -> (earliest, latest) time an event showed the edge
    job_reads: dict[tuple[str, str], tuple[datetime, datetime]] = field(default_factory=dict)
    job_writes: dict[tuple[str, str], tuple[datetime, datetime]] = field(default_factory=dict)
    run_reads: dict[tuple[str, str], str | None] = field(default_factory=dict)  # -> pinned version
    run_read_since: dict[tuple[str, str], datetime] = field(default_factory=dict)
    versions: dict[str, VersionRow[datetime]] = field(default_factory=dict)
    # (runId, dataset id, version id) -> since
    run_writes: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    facets: dict[str, FacetRow[datetime]] = field(default_factory=dict)
    fields: dict[str, FieldRow] = field(default_factory=dict)
    column_lineage: dict[tuple[str, str], ColumnLineageRow] = field(default_factory=dict)
    scene_links: dict[str, SceneLinkRow[datetime]] = field(default_factory=dict)  # by dataset
    # (alias id, dataset id) -> the alias row: every symlinks identifier ever seen (a union)
    aliases: dict[tuple[str, str], AliasRow[datetime]] = field(default_factory=dict)
    models: dict[str, ModelRow] = field(default_factory=dict)  # model versions by id
    # (model id, dataset id, runId) -> the earliest event showing that run wrote the model
    # there: every TRAINED / STORED_IN edge, as separate requests would give them.
    model_links: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    schema_links: dict[str, SchemaLinkRow[datetime]] = field(default_factory=dict)  # by dataset
    evaluations: dict[str, EvaluationRow[datetime]] = field(default_factory=dict)  # by runId

    def add(self, parsed: ParsedEvent, receipt: Receipt | None = None) -> None:
        event = parsed.event
        receipt = receipt or Receipt.now()
        self.events.append(
            {
                "recordType": "openlineage",
                "subject": None,
                "receivedAtMs": receipt.received_at_ms,
                "keyId": receipt.key_id,
                "sha256": parsed.sha256,
                "raw": parsed.text,
                "kind": parsed.kind,
                "eventType": (
                    str(event.eventType)
                    if isinstance(event, RunEvent) and event.eventType is not None else None
                ),
                "eventTime": event.eventTime,
                "runId": _run_key(event),
                "warnings": [f"{w.get('facet') or w['field']}: {w['problem']}"
                             for w in parsed.warnings()],
            }
        )
        if isinstance(event, DatasetEvent):
            for ds in parsed.datasets:
                self._dataset(ds, event.eventTime)
            return
        assert isinstance(event, RunEvent | JobEvent)
        jid = self._job(event.job.namespace, event.job.name)
        self._facets(jid, "", parsed.job_facets, event.eventTime)
        run_id = _run_key(event)
        if run_id is not None:
            assert isinstance(event, RunEvent)
            self._run(run_id, jid, event)
            self._run_code(run_id, parsed.job_facets, event.eventTime)
            self._facets(run_node_id(run_id), "", parsed.run_facets, event.eventTime)
            for facet in parsed.run_facets:
                if isinstance(facet.model, ParentRunFacet):
                    self._parent(run_id, facet.model)
                elif isinstance(facet.model, EvaluationRunFacet):
                    sort_key = _facet_sort_key(facet, event.eventTime)
                    self._evaluation(run_id, facet.model, sort_key, event.eventTime)
        for ds in parsed.inputs:
            did = self._dataset(ds, event.eventTime)
            _widen(self.job_reads, (jid, did), event.eventTime)
            if run_id is not None:
                _earliest(self.run_read_since, (run_id, did), event.eventTime)
                self._facets(run_node_id(run_id), f"input:{did}", ds.io_facets, event.eventTime)
                pinned = _named_version(ds)
                key = (run_id, did)
                current = self.run_reads.get(key)
                if key not in self.run_reads or (
                    pinned is not None and (current is None or pinned > current)
                ):
                    self.run_reads[key] = pinned
                if pinned is not None:
                    self._version(ds, pinned, None, None)
        for ds in parsed.outputs:
            did = self._dataset(ds, event.eventTime)
            _widen(self.job_writes, (jid, did), event.eventTime)
            if run_id is not None:
                self._facets(run_node_id(run_id), f"output:{did}", ds.io_facets, event.eventTime)
                version = _named_version(ds) or run_id
                vid = self._version(ds, version, run_id, event.eventTime)
                _earliest(self.run_writes, (run_id, did, vid), event.eventTime)
                for facet in ds.facets:
                    if isinstance(facet.model, MlModelDatasetFacet):
                        sort_key = _facet_sort_key(facet, event.eventTime)
                        self._model(did, run_id, facet.model, sort_key, event.eventTime)

    # -- row builders ------------------------------------------------------------------------

    def _job(self, namespace: str, name: str) -> str:
        return self._named_node(self.jobs, job_id(namespace, name), namespace, name)

    def _named_node(self, rows: dict[str, NamedNodeRow], node_id: str, namespace: str,
                    name: str) -> str:
        """A job or dataset row, and its namespace."""
        self.namespaces.add(namespace)
        if node_id not in rows:  # (not setdefault: that builds the row on every reference)
            rows[node_id] = {"nodeId": node_id, "namespace": namespace, "name": name,
                             "namespaceKey": namespace_key(namespace)}
        return node_id

    def _dataset(self, ds: ParsedDataset, at: datetime) -> str:
        did = self._dataset_ref(ds.namespace, ds.name)
        self._facets(did, "", ds.facets, at)
        for facet in ds.facets:
            if facet.malformed:
                continue
            if isinstance(facet.model, SchemaDatasetFacet):
                key = _facet_sort_key(facet, at)
                self._schema_fields(did, facet.model.fields, key)
            elif isinstance(facet.model, ColumnLineageDatasetFacet):
                self._column_lineage(ds.namespace, ds.name, facet.model)
            elif isinstance(facet.model, SymlinksDatasetFacet):
                self._aliases(did, facet.model, at)
            elif isinstance(facet.model, UsdSceneDatasetFacet):
                self._scene_link(did, facet.model, _facet_sort_key(facet, at), at)
            elif isinstance(facet.model, LabelingSchemaDatasetFacet):
                self._schema_link(did, facet.model, _facet_sort_key(facet, at), at)
        return did

    def _aliases(self, did: str, facet: SymlinksDatasetFacet, at: datetime) -> None:
        """Each identifier is another name of this dataset. Empty names, names too long for a
        key and the dataset's own name are skipped (the facet is kept as sent)."""
        for ident in facet.identifiers:
            alias = dataset_id(ident.namespace, ident.name)
            if not ident.namespace or not ident.name or alias == did or max(
                    len(ident.namespace), len(ident.name)) > KEY_TEXT_MAX:
                continue
            row = self.aliases.setdefault((alias, did), {
                "aliasId": alias, "datasetId": did, "namespace": ident.namespace,
                "name": ident.name, "type": ident.type, "since": at})
            row["since"] = min(row["since"], at)

    def _dataset_ref(self, namespace: str, name: str) -> str:
        return self._named_node(self.datasets, dataset_id(namespace, name), namespace, name)

    def _run(self, run_id: str, jid: str, event: RunEvent) -> None:
        self.run_jobs.add((jid, run_id))
        t = event.eventTime
        row = self.runs.get(run_id)
        if row is None:
            row = _run_row(run_id, t)
            self.runs[run_id] = row
        first, last = row["firstEventTime"], row["lastEventTime"]
        row["firstEventTime"] = t if first is None else min(first, t)
        row["lastEventTime"] = t if last is None else max(last, t)
        etype = event.eventType
        if etype is None or etype is EventType.OTHER:
            return
        first_start = row["startEventTime"]
        if etype is EventType.START and (first_start is None or t < first_start):
            row["startEventTime"] = t
        key = f"{int(etype.is_terminal)}|{time_key(t)}|{_STATE_RANK[etype]}"
        if row["stateKey"] is None or key > row["stateKey"]:
            row["stateKey"], row["state"], row["stateTime"] = key, str(etype), t
            row["terminal"] = etype.is_terminal

    def _run_code(self, run_id: str, job_facets: list[ParsedFacet], at: datetime) -> None:
        """The code a run ran: a digest of its event's code facets (sql, sourceCode,
        sourceCodeLocation), without their _producer/_schemaURL. The latest event that carries
        any wins, so two runs of a job can be compared (regressionSuspects)."""
        code = {f.name: {k: v for k, v in f.raw.items() if not k.startswith("_")}
                for f in job_facets if f.name in _CODE_FACETS and isinstance(f.raw, dict)}
        if not code:
            return
        digest = hashlib.sha256(json.dumps(code, sort_keys=True).encode()).hexdigest()
        key = f"{time_key(at)}|{digest[:16]}"
        row = self.runs[run_id]
        if row["codeKey"] is None or key > row["codeKey"]:
            row["codeKey"], row["codeDigest"] = key, f"sha256:{digest}"

    def _parent(self, run_id: str, parent: ParentRunFacet) -> None:
        parent_run = scoped_run_id(parent.run.runId, parent.job.namespace, parent.job.name)
        parent_job = self._job(parent.job.namespace, parent.job.name)
        self.parents.add((run_id, parent_run))
        self.run_jobs.add((parent_job, parent_run))
        if parent_run not in self.runs:
            # A placeholder: the parent run is known by reference until its own events arrive.
            self.runs[parent_run] = _run_row(parent_run, None)

    def _version(
        self, ds: ParsedDataset, version: str, run_id: str | None, at: datetime | None
    ) -> str:
        vid = dataset_version_id(ds.namespace, ds.name, version)
        row = self.versions.setdefault(
            vid,
            {"nodeId": vid, "datasetId": dataset_id(ds.namespace, ds.name), "version": version,
             "createdAt": None},
        )
        if at is not None and (row["createdAt"] is None or at > row["createdAt"]):
            row["createdAt"] = at
        return vid

    def _facets(self, owner: str, place: str, facets: list[ParsedFacet], at: datetime) -> None:
        for facet in facets:
            fid = facet_id(owner, place, facet.name)
            payload = facet.canonical_payload
            key = _facet_sort_key(facet, at)
            current = self.facets.get(fid)
            if current is not None and current["sortKey"] >= key:
                continue
            self.facets[fid] = {
                "facetId": fid, "ownerId": owner, "place": place, "name": facet.name,
                "payload": payload, "eventTime": at,
                "sortKey": key, "malformed": facet.malformed, "error": facet.error,
                # Place-specific facets (inputFacets/outputFacets) describe the edge, not the owner.
                "properties": _storable(facet.properties) if place == "" else {},
            }

    def _schema_fields(self, did: str, fields: list[SchemaField], key: str) -> None:
        for ordinal, f in enumerate(fields, start=1):
            fid = field_id(did, f.name)
            current = self.fields.get(fid)
            if current is not None and current["sortKey"] >= key:
                continue
            self.fields[fid] = {
                "fieldId": fid, "datasetId": did, "name": f.name, "type": f.type,
                "description": f.description,
                "ordinal": f.ordinal_position if f.ordinal_position is not None else ordinal,
                "sortKey": key,
            }

    def _column_lineage(self, namespace: str, name: str, facet: ColumnLineageDatasetFacet) -> None:
        out_did = self._dataset_ref(namespace, name)
        for out_field, spec in facet.fields.items():
            out_fid = field_id(out_did, out_field)
            for inp in spec.inputFields:
                in_did = self._dataset_ref(inp.namespace, inp.name)
                in_fid = field_id(in_did, inp.field)
                row: ColumnLineageRow = {
                    "outFieldId": out_fid,
                    "inFieldId": in_fid,
                    "transformations": (
                        json.dumps(inp.transformations, ensure_ascii=False)
                        if inp.transformations else _field_level_transformations(
                            spec.transformationType, spec.transformationDescription)
                    ),
                }
                self.column_lineage[(out_fid, in_fid)] = row
                self._field_ref(out_did, out_field, out_fid)
                self._field_ref(in_did, inp.field, in_fid)

    def _scene_link(self, did: str, facet: UsdSceneDatasetFacet, key: str,
                    at: datetime) -> None:
        current = self.scene_links.get(did)
        if current is not None and current["sortKey"] >= key:
            return  # a later usdScene facet of this dataset already won
        self.scene_links[did] = {
            "sortKey": key, "since": at, "datasetId": did,
            **_variant_ref(facet.sceneId, facet.version, facet.contentHash,
                           facet.variantSelections),
        }

    def _model(self, did: str, run_id: str, facet: MlModelDatasetFacet, key: str,
               at: datetime) -> None:
        nid = model_version_id(facet.name, facet.version)
        # STORED_IN.since is the earliest event that showed the model in that dataset (the
        # Cypher keeps the minimum across transactions), whichever facet wins: so within a
        # batch too, or the graph would depend on how events were batched.
        link = (nid, did, run_id)
        self.model_links[link] = min(self.model_links.get(link, at), at)
        current = self.models.get(nid)
        if current is not None and current["sortKey"] >= key:
            return
        tensors: list[TensorRow] | None = None if facet.tensors is None else [
            {"name": name, "digest": tensor_key(digest)}
            for name, digest in sorted(facet.tensors.items())]
        self.models[nid] = {
            "nodeId": nid, "name": facet.name, "version": facet.version, "sortKey": key,
            "digest": facet.digest, "framework": facet.framework, "format": facet.format,
            "derivedFrom": sorted(set(facet.derivedFrom)), "tensors": tensors,
        }

    def _schema_link(self, did: str, facet: LabelingSchemaDatasetFacet, key: str,
                     at: datetime) -> None:
        current = self.schema_links.get(did)
        if current is not None and current["sortKey"] >= key:
            return
        self.schema_links[did] = {
            "datasetId": did, "sortKey": key, "since": at,
            "versions": [
                {"nodeId": labeling_schema_version_id(ref.name, ref.version),
                 "name": ref.name, "version": ref.version}
                for ref in sorted({(r.name, r.version): r for r in facet.schemas}.values(),
                                  key=lambda r: (r.name, r.version))
            ],
        }

    def _evaluation(self, run_id: str, facet: EvaluationRunFacet, key: str,
                    at: datetime) -> None:
        current = self.evaluations.get(run_id)
        if current is not None and current["sortKey"] >= key:
            return
        model_id = model_version_id(facet.model.name, facet.model.version)
        dataset = facet.dataset
        metrics: dict[str, MetricRow] = {}
        for metric in facet.metrics:
            dimensions = metric.slice.dimensions if metric.slice else {}
            variant = metric.slice.sceneVariant if metric.slice else None
            slice_key = json.dumps(
                {"dimensions": dimensions,
                 "sceneVariant": None if variant is None else variant.model_dump(
                     include={"sceneId", "version", "contentHash", "selections"})},
                sort_keys=True, ensure_ascii=False)
            mid = metric_id(run_id, model_id, metric.name, slice_key)
            metrics[mid] = {  # a repeated (name, slice) keeps its last value
                "metricId": mid, "name": metric.name, "value": metric.value,
                "higherIsBetter": metric.higherIsBetter, "sliceKey": slice_key,
                "dimensions": json.dumps(dimensions, sort_keys=True, ensure_ascii=False),
                "sceneVariant": None if variant is None else _variant_ref(
                    variant.sceneId, variant.version, variant.contentHash, variant.selections),
            }
        self.evaluations[run_id] = {
            "runId": run_id, "sortKey": key, "since": at, "modelId": model_id,
            "modelName": facet.model.name, "modelVersion": facet.model.version,
            "datasetId": None if dataset is None else self._dataset_ref(dataset.namespace,
                                                                        dataset.name),
            "metrics": sorted(metrics.values(), key=lambda m: m["metricId"]),
        }

    def _field_ref(self, did: str, name: str, fid: str) -> None:
        """A field known only by reference (``fid``: its id): created without properties
        (sort key '' never overrides a schema facet's)."""
        if fid not in self.fields:
            self.fields[fid] = {
                "fieldId": fid, "datasetId": did, "name": name, "type": None,
                "description": None, "ordinal": None, "sortKey": "",
            }

    # -- parameters for the Cypher ------------------------------------------------------------

    def parameters(self) -> PlanRows:
        """Row lists for the Cypher; times as ISO-8601 strings (see lineage_rows)."""
        return {
            "events": [_with_iso(e, "eventTime") for e in self.events],
            "namespaces": [{"key": namespace_key(n), "name": n} for n in sorted(self.namespaces)],
            "jobs": list(self.jobs.values()),
            "datasets": list(self.datasets.values()),
            "runs": [_with_iso(r, "firstEventTime", "lastEventTime", "startEventTime",
                               "stateTime") for r in self.runs.values()],
            "parents": [{"child": c, "parent": p} for c, p in sorted(self.parents)],
            "runJobs": [{"jobId": j, "runId": r} for j, r in sorted(self.run_jobs)],
            "jobReads": _job_edge_rows(self.job_reads),
            "jobWrites": _job_edge_rows(self.job_writes),
            "runReads": [
                {"runId": r, "datasetId": d, "pinnedVersion": v,
                 "since": self.run_read_since[(r, d)].isoformat(),
                 "versionId": None if v is None else self._pinned_version_id(d, v)}
                for (r, d), v in sorted(self.run_reads.items())
            ],
            "versions": [_with_iso(v, "createdAt") for v in self.versions.values()],
            "runWrites": [
                {"runId": r, "datasetId": d, "versionId": v, "since": t.isoformat()}
                for (r, d, v), t in sorted(self.run_writes.items())
            ],
            "facets": [_with_iso(f, "eventTime") for f in self.facets.values()],
            "fields": list(self.fields.values()),
            "columnLineage": list(self.column_lineage.values()),
            "sceneLinks": [_with_iso(r, "since") for r in self.scene_links.values()],
            "aliases": [_with_iso(r, "since") for _, r in sorted(self.aliases.items())],
            "models": list(self.models.values()),
            "modelLinks": [{"modelId": m, "datasetId": d, "runId": r, "since": t.isoformat()}
                           for (m, d, r), t in sorted(self.model_links.items())],
            "schemaLinks": [_with_iso(r, "since") for r in self.schema_links.values()],
            "evaluations": [_with_iso(r, "since") for r in self.evaluations.values()],
            "touchedRunIds": sorted({r for r, _ in self.run_reads} | set(self.runs)),
            "versionedDatasets": self._versioned_datasets(),
        }

    def _versioned_datasets(self) -> list[VersionedDatasetRow]:
        """Each dataset this batch wrote versions of, with those versions and the earliest of
        their creation times: what decides which readers must re-resolve their version."""
        written: dict[str, set[str]] = {}
        for _, did, vid in self.run_writes:
            written.setdefault(did, set()).add(vid)
        rows: list[VersionedDatasetRow] = []
        for did, vids in sorted(written.items()):
            times = [t for t in (self.versions[v]["createdAt"] for v in vids) if t is not None]
            rows.append({"datasetId": did, "versionIds": sorted(vids),
                         "since": min(times).isoformat() if times else None})
        return rows

    def _pinned_version_id(self, did: str, version: str) -> str:
        ds = self.datasets[did]
        return dataset_version_id(ds["namespace"], ds["name"], version)


def _run_key(event: RunEvent | DatasetEvent | JobEvent) -> str | None:
    """The key the event's run is stored under (ids.scoped_run_id); None without a run."""
    if not isinstance(event, RunEvent):
        return None
    return scoped_run_id(event.run.runId, event.job.namespace, event.job.name)


def _job_edge_rows(edges: dict[tuple[str, str], tuple[datetime, datetime]]
                   ) -> list[JobEdgeRow]:
    """READS or WRITES rows: each (job, dataset) with the span of events that showed it."""
    return [{"jobId": j, "datasetId": d, "since": since.isoformat(), "until": until.isoformat()}
            for (j, d), (since, until) in sorted(edges.items())]


def _widen(edges: dict[Any, tuple[datetime, datetime]], key: Any, at: datetime) -> None:
    """Stretch the (earliest, latest) span of an edge to cover ``at``."""
    since, until = edges.get(key, (at, at))
    edges[key] = (min(since, at), max(until, at))


def _earliest(edges: dict[Any, datetime], key: Any, at: datetime) -> None:
    if key not in edges or at < edges[key]:
        edges[key] = at


def _variant_ref(scene_id: str, version: str | None, content_hash: str | None,
                 selections: dict[str, str]) -> VariantRef:
    """A scene variant reference as lineage_writes._VARIANT_OF_REF reads it (usdScene facets
    and evaluation slices alike)."""
    return {
        "sceneId": scene_id, "version": version, "contentHash": content_hash,
        "selections": json.dumps(selections, sort_keys=True),
        "name": f"{scene_id} " + ",".join(f"{k}={v}" for k, v in sorted(selections.items())),
        "placeholderId": placeholder_scene_variant_id(scene_id, version, content_hash,
                                                      selections),
    }


def _named_version(ds: ParsedDataset) -> str | None:
    for facet in ds.facets:
        if isinstance(facet.model, DatasetVersionDatasetFacet):
            return facet.model.datasetVersion
    return None


@lru_cache(maxsize=256)
def _field_level_transformations(kind: str | None, description: str | None) -> str:
    """The transformations of a column-lineage input that names none: its field's (the
    facet's older form), as JSON. Cached: a handful of distinct pairs, one per input."""
    return json.dumps([{"type": kind, "description": description}], ensure_ascii=False)


def _facet_sort_key(facet: ParsedFacet, at: datetime) -> str:
    """Later eventTime wins; equal times are broken by the payload's hash, so the winner does
    not depend on arrival order."""
    return f"{time_key(at)}|{facet.payload_digest}"


def _storable(props: dict[str, Any]) -> dict[str, Any]:
    """Neo4j properties hold primitives and homogeneous lists only."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        scalar = value is None or isinstance(value, str | int | float | bool | datetime)
        if scalar or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            out[key] = value
        else:
            out[key] = json.dumps(value, ensure_ascii=False, default=str)
    return out


def _run_row(run_id: str, at: datetime | None) -> RunRow[datetime]:
    """A run as its first event shows it (``at``), or a placeholder (None): a parent named
    by a parent facet, known by reference until its own events arrive."""
    return {"runId": run_id, "nodeId": run_node_id(run_id), "stateKey": None, "state": None,
            "stateTime": None, "terminal": False, "firstEventTime": at, "lastEventTime": at,
            "startEventTime": None, "codeKey": None, "codeDigest": None}


def _with_iso(row: Mapping[str, Any], *keys: str) -> Any:
    """A row of the plan with its ``keys`` (times) as ISO-8601 strings: the same TypedDict
    with ``str`` for its time type (lineage_rows), which mypy cannot express for a copy."""
    out = dict(row)
    for key in keys:
        value = out.get(key)
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    return out
