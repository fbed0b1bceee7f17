"""Does the graph still hold what the records project to? (``ledger verify``)

The hash chain proves the record was not edited; this proves the graph answering forensic
questions was not edited behind the record's back (a prim deleted, a run's input unlinked
through raw Cypher). Each record is projected again in memory, and what it must have put in the
graph is looked up: for an OpenLineage event its job, run, datasets, fields and the run's READ
and WROTE edges; for a scene document its layers, arcs, prims and scene variants; for a
labeling call its session and labels; for an API key its node with the recorded secret hash,
and its revocation. Merged properties (the latest
facet, a run's state) depend on every record together and are not compared; presence is.

By default a random sample of records is checked (``sample`` of them); ``full`` checks all, a
page at a time. API keys are always all checked, both ways: every key record against the graph
and every ``:ApiKey`` against the record (one no record created was added behind its back).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from lineage_graph.db import event_records, projection_checks
from lineage_graph.db.connection import Database
from lineage_graph.ingest.plan import WritePlan
from lineage_graph.openlineage.parse import parse_event_text
from lineage_graph.usd.store import scene_parameters

Expected = dict[str, list[dict[str, Any]]]  # check name -> rows {seq, what, a, b}


@dataclass(frozen=True)
class ProjectionReport:
    checked: int  # records whose projection was looked up
    missing: list[tuple[int, str]]  # (record seq, what is missing), at most ``limit``

    @property
    def ok(self) -> bool:
        return not self.missing


def check_projection(db: Database, full: bool = False, sample: int = 200, page: int = 500,
                     limit: int = 50) -> ProjectionReport:
    key_records = db.read(projection_checks.api_key_records)
    # Which keys records created is read from each record's raw JSON, which its sha256 and the
    # chain cover (the record's kind and subject properties are not hashed).
    created = {change["keyId"] for change in (json.loads(r["raw"]) for r in key_records)
               if change.get("action") == "create"}
    missing = [(0, f"a record of API key {k['keyId']} ({k['name']}): a key no record created")
               for k in db.read(projection_checks.all_api_keys) if k["keyId"] not in created]
    checked = 0
    for records in [key_records, *_records(db, full, sample, page)]:
        expected: Expected = defaultdict(list)
        for record in records:
            if record["recordType"] == "apiKey" and records is not key_records:
                continue  # checked with every other key record
            _expect(expected, record["seq"], record["recordType"], record["raw"])
        for check, rows in expected.items():
            for row in db.read(partial(projection_checks.missing, check=check, rows=rows)):
                missing.append((row["seq"], row["what"]))
        checked += sum(1 for r in records
                       if records is key_records or r["recordType"] != "apiKey")
        if len(missing) >= limit:
            break
    return ProjectionReport(checked, sorted(missing)[:limit])


def _records(db: Database, full: bool, sample: int, page: int
             ) -> Iterable[list[dict[str, Any]]]:
    if not full:
        seqs = db.read(partial(projection_checks.sample_sequences, size=sample))
        yield db.read(partial(projection_checks.records_by_seq, seqs=seqs))
        return
    after = 0
    while batch := db.read(partial(event_records.events_after, after=after, limit=page)):
        yield batch
        after = batch[-1]["seq"]


def _expect(expected: Expected, seq: int, record_type: str, raw: str | None) -> None:
    if raw is None or record_type == "retention":
        # Retention removed this record's text and its run (ledger verify checks the pruning
        # against the retention record), or this is that record: nothing to look up.
        return

    def add(check: str, what: str, a: str, b: str | None = None, **more: Any) -> None:
        expected[check].append({"seq": seq, "what": what, "a": a, "b": b, **more})

    if record_type == "apiKey":
        change = json.loads(raw)
        if change["action"] == "create":
            add("api_key", f"API key {change['keyId']} ({change['name']}) with its recorded "
                           "secret hash, scopes and name", change["keyId"], change["secretHash"],
                c=change["scopes"], d=change["name"])
        else:
            add("api_key_revoked", f"revocation of API key {change['keyId']}", change["keyId"])
        return
    if record_type == "checkpoint":
        checkpoint = json.loads(raw)
        add("checkpoint", f"ledger checkpoint of record {checkpoint['seq']}",
            str(checkpoint["seq"]), checkpoint["head"])
        return
    if record_type == "labeling":
        command = json.loads(raw)
        if command["action"] == "createLabelingSession":
            add("labeling_session", f"labeling session {command['name']}", command["sessionId"])
        elif command["action"] == "addLabels":
            for label in command["labels"]:
                add("label", f"label of item {label['itemId']} ({label['labelId']})",
                    command["sessionId"], label["labelId"])
        return  # a schema version's number and a session's schema switch are not presence
    if record_type == "scene":
        scene_record = json.loads(raw)
        doc = scene_record["document"]
        params = scene_parameters(scene_record)
        version = params["version"]["nodeId"]
        where = f"scene {doc['sceneId']}@{doc['version']}"
        for layer in params["layers"]:
            add("scene_layer", f"{where}: layer {layer['path']}", version, layer["sha256"])
        for arc in params["arcs"]:
            add("scene_arc", f"{where}: {arc['kind']} arc to {arc['target']}", version,
                arc["arcId"])
        for prim in params["prims"]:
            add("scene_prim", f"{where}: prim {prim['path']}", version, prim["primId"])
        for variant in params["variants"]:
            add("scene_variant", f"{where}: scene variant {variant['name']}", version,
                variant["nodeId"])
        return
    plan = WritePlan()
    plan.add(parse_event_text(raw, recorded=True))
    rows = plan.parameters()
    for job in rows["jobs"]:
        add("job", f"job {job['namespace']}:{job['name']}", job["nodeId"])
    names = {d["nodeId"]: f"{d['namespace']}:{d['name']}" for d in rows["datasets"]}
    for dataset_id, name in names.items():
        add("dataset", f"dataset {name}", dataset_id)
    for pair in rows["runJobs"]:
        add("job_run", f"run {pair['runId']} of job {pair['jobId']}", pair["jobId"],
            pair["runId"])
    for read in rows["runReads"]:
        add("run_read", f"run {read['runId']} READ {names[read['datasetId']]}",
            read["runId"], read["datasetId"])
    for wrote in rows["runWrites"]:
        add("run_wrote", f"run {wrote['runId']} WROTE {names[wrote['datasetId']]}",
            wrote["runId"], wrote["datasetId"])
    for field in rows["fields"]:
        add("dataset_field", f"field {field['name']} of {names[field['datasetId']]}",
            field["datasetId"], field["fieldId"])
