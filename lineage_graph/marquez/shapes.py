"""Rows of db.marquez_reads in Marquez's JSON shapes (Marquez 0.50: Namespace, Dataset,
DatasetVersion, Job, Run, the lineage and column-lineage graphs). Fields Marquez has and the
graph does not keep are present as null (Marquez writes nulls, it does not omit them)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

# OpenLineage's run states as Marquez names them; a run no event has given a state yet is NEW.
_RUN_STATE = {None: "NEW", "START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED",
              "FAIL": "FAILED", "ABORT": "ABORTED"}
# Namespaces made by OpenLineage events have no owner in Marquez either: it names them so.
DEFAULT_OWNER = "anonymous"


def iso(value: datetime | None) -> str | None:
    """An instant (db/instants.py) as Marquez writes instants (ISO-8601, ``Z``)."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _facets(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {row["name"]: json.loads(row["payload"]) for row in rows if row.get("name")}


def _ref(namespace: str, name: str) -> dict[str, str]:
    return {"namespace": namespace, "name": name}


def namespace(name: str) -> dict[str, Any]:
    return {"name": name, "createdAt": None, "updatedAt": None, "ownerName": DEFAULT_OWNER,
            "description": None, "isHidden": False}


def _fields(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": f["name"], "type": f.get("type"), "tags": [],
             "description": f.get("description")} for f in row["fields"]]


def transformation(raw: str | None) -> tuple[str | None, str | None]:
    """(description, type) of the first transformation a columnLineage input field lists."""
    if not raw:
        return None, None
    found = json.loads(raw)
    first = found[0] if isinstance(found, list) and found else found
    if not isinstance(first, dict):
        return None, None
    return (first.get("description") or first.get("transformationDescription"),
            first.get("type") or first.get("transformationType"))


def _column_lineage(row: dict[str, Any]) -> list[dict[str, Any]] | None:
    if not row["columnLineage"]:
        return None
    out = []
    for column in sorted(row["columnLineage"], key=lambda c: c["name"]):
        inputs = []
        for field in sorted(column["inputFields"],
                            key=lambda f: (f["namespace"], f["dataset"], f["field"])):
            description, kind = transformation(field.get("transformations"))
            inputs.append({"namespace": field["namespace"], "dataset": field["dataset"],
                           "field": field["field"], "transformationDescription": description,
                           "transformationType": kind})
        out.append({"name": column["name"], "inputFields": inputs})
    return out


def dataset(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _ref(row["namespace"], row["name"]), "type": "DB_TABLE",
        "name": row["name"], "physicalName": row["name"],
        "createdAt": iso(row["createdAt"]), "updatedAt": iso(row["updatedAt"]),
        "namespace": row["namespace"], "sourceName": row.get("sourceName") or row["namespace"],
        "fields": _fields(row), "tags": [], "lastModifiedAt": iso(row["lastModifiedAt"]),
        "lastLifecycleState": None, "description": row.get("description"),
        "currentVersion": row["currentVersion"], "columnLineage": _column_lineage(row),
        "facets": _facets(row["facets"]), "deleted": False,
    }


def dataset_version(version: dict[str, Any], ds: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _ref(ds["namespace"], ds["name"]), "type": "DB_TABLE", "name": ds["name"],
        "physicalName": ds["name"], "createdAt": iso(version["createdAt"]),
        "version": version["version"], "namespace": ds["namespace"],
        "sourceName": ds.get("sourceName") or ds["namespace"], "fields": _fields(ds),
        "tags": [], "lifecycleState": None, "description": ds.get("description"),
        "createdByRun": None if version["run"] is None else run(version["run"]),
        "facets": {},
    }


def run(row: dict[str, Any]) -> dict[str, Any]:
    started, ended = row.get("startedAt"), row.get("endedAt")
    duration = None
    if started is not None and ended is not None:
        delta = ended - started
        duration = int(delta.total_seconds() * 1000)
    return {
        "id": row["runId"], "createdAt": iso(row.get("firstEventTime")),
        "updatedAt": iso(row.get("lastEventTime")),
        "nominalStartTime": iso(row.get("nominalStartTime")),
        "nominalEndTime": iso(row.get("nominalEndTime")),
        "state": _RUN_STATE.get(row.get("state"), "RUNNING"),
        "startedAt": iso(started), "endedAt": iso(ended), "durationMs": duration,
        "args": {}, "jobVersion": None,
        "inputDatasetVersions": [{"datasetVersionId": v, "facets": {}}
                                 for v in sorted(row["inputs"], key=_version_key)],
        "outputDatasetVersions": [{"datasetVersionId": v, "facets": {}}
                                  for v in sorted(row["outputs"], key=_version_key)],
        "facets": _facets(row["facets"]),
    }


def _version_key(v: dict[str, Any]) -> tuple[str, str, str]:
    return v["namespace"], v["name"], str(v["version"])


def job(row: dict[str, Any]) -> dict[str, Any]:
    runs = [run(r) for r in row["latestRuns"]]
    return {
        "id": _ref(row["namespace"], row["name"]),
        "type": "STREAM" if row.get("processingType") == "STREAMING" else "BATCH",
        "name": row["name"], "simpleName": row["name"].rsplit(".", 1)[-1],
        "parentJobName": None, "parentJobUuid": None,
        "createdAt": iso(row["createdAt"]), "updatedAt": iso(row["updatedAt"]),
        "namespace": row["namespace"], "inputs": row["inputs"], "outputs": row["outputs"],
        "location": None, "description": row.get("description"),
        "latestRun": runs[0] if runs else None, "latestRuns": runs or None,
        "facets": _facets(row["facets"]), "currentVersion": None, "labels": [], "tags": [],
    }


def lineage_job_data(row: dict[str, Any]) -> dict[str, Any]:
    full = job(row)
    latest = full["latestRun"]
    return {key: full[key] for key in (
        "id", "type", "name", "simpleName", "parentJobName", "parentJobUuid", "createdAt",
        "updatedAt", "namespace", "inputs", "outputs", "location", "description",
        "latestRun")} | {"currentRunUuid": None if latest is None else latest["id"]}


def lineage_dataset_data(row: dict[str, Any]) -> dict[str, Any]:
    full = dataset(row)
    return {key: full[key] for key in (
        "id", "type", "name", "physicalName", "createdAt", "updatedAt", "namespace",
        "sourceName", "fields", "tags", "lastModifiedAt", "description", "lastLifecycleState",
        "facets")}
