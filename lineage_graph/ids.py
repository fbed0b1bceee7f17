"""Stable node ids (the ``nodeId`` property). Clients treat them as opaque strings.

Dataset and job ids are Marquez's (``dataset:NS:NAME``, ``job:NS:NAME``) so tools built for
Marquez's lineage API can pass them unchanged; runs are their OpenLineage ``runId`` (prefixed
``run:`` when it is not a UUID). Dataset
versions and
fields derive their id from their parts with a hash, so no separator can make two collide.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from functools import lru_cache

# Neo4j's range indexes refuse keys over ~8 KB; ids longer than this keep a readable prefix and
# end in the sha256 of the full text. bounded() is idempotent, so lookups apply it to any id.
MAX_KEY_BYTES = 4096
_PREFIX_CHARS = 512


def bounded(key: str) -> str:
    if len(key) <= MAX_KEY_BYTES // 4 or len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[:_PREFIX_CHARS]}...#sha256:{digest}"


def dataset_id(namespace: str, name: str) -> str:
    return bounded(f"dataset:{namespace}:{name}")


def job_id(namespace: str, name: str) -> str:
    return bounded(f"job:{namespace}:{name}")


def namespace_key(name: str) -> str:
    return bounded(name)


def facet_id(owner_id: str, place: str, name: str) -> str:
    return bounded(f"{owner_id}|{place}|{name}")


def canonical_run_id(run_id: str) -> str:
    """A runId that parses as a UUID in its canonical form (lower case, hyphenated), so a
    parent named in upper case is the same run; any other runId as sent."""
    if is_uuid(run_id):
        return run_id
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return run_id


# The canonical form of a UUID (str(uuid.UUID(...))): matched rather than parsed, as every
# event asks several times.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_uuid(run_id: str) -> bool:
    """A UUID in its canonical form (what canonical_run_id makes of one)."""
    return _CANONICAL_UUID.fullmatch(run_id) is not None


def scoped_run_id(run_id: str, job_namespace: str, job_name: str) -> str:
    """The key a run is stored under: its runId when that is a UUID, as the spec asks.
    Another runId is scoped by its job (``<namespace>:<job>:<runId>``): schedulers send ids
    such as Airflow's ``scheduled__2026-03-01T00:00:00+00:00``, shared by every task of a DAG
    run, and two tasks must not become one run. A parent facet names its job, so a parent is
    scoped the same way."""
    if is_uuid(run_id):
        return run_id
    return bounded(f"{job_namespace}:{job_name}:{run_id}")


def run_node_id(run_id: str) -> str:
    """A run's node id is its OpenLineage runId, so GraphQL's run(id:) and node(id:) agree. A
    runId that is not a UUID (the spec asks for one; some emitters send "run_id") is prefixed,
    so it can never equal another node's id (``dataset:...``)."""
    return run_id if is_uuid(run_id) else f"run:{run_id}"


@lru_cache(maxsize=65536)
def _digest(*parts: str) -> str:
    # Length-prefixed parts: no choice of names can make two different tuples collide.
    framed = "".join(f"{len(p)}:{p}" for p in parts)
    return hashlib.sha256(framed.encode("utf-8")).hexdigest()[:32]


def dataset_version_id(namespace: str, name: str, version: str) -> str:
    return f"datasetVersion:{_digest(namespace, name, version)}"


def field_id(dataset_node_id: str, field_name: str) -> str:
    return f"field:{_digest(dataset_node_id, field_name)}"


def scene_version_id(scene_id: str, content_hash: str) -> str:
    """A scene version is its content: an edited layer is a new version even when the authored
    ``sceneVersion`` string did not change."""
    return f"sceneVersion:{_digest(scene_id, content_hash)}"


def scene_variant_id(scene_id: str, content_hash: str, selections: dict[str, str]) -> str:
    """Stable id of a scene variant: the scene's content plus its full selection map."""
    canonical = ",".join(f"{k}={v}" for k, v in sorted(selections.items()))
    return f"sceneVariant:{_digest(scene_id, content_hash, canonical)}"


def scene_part_id(version_node_id: str, *parts: str) -> str:
    """Ids of the parts of one scene version: prims, arcs, variant sets and options."""
    return f"{parts[0]}:{_digest(version_node_id, *parts)}"


def placeholder_scene_variant_id(scene_id: str, version: str | None, content_hash: str | None,
                                 selections: dict[str, str]) -> str:
    """The id a scene variant named by a usdScene facet gets before its scene is ingested: the
    real id when the facet carries the content hash, else one derived from the version."""
    if content_hash:
        return scene_variant_id(scene_id, content_hash, selections)
    canonical = ",".join(f"{k}={v}" for k, v in sorted(selections.items()))
    return f"sceneVariant:{_digest(scene_id, 'version', version or '', canonical)}"


def labeling_schema_version_id(name: str, version: int) -> str:
    return bounded(f"labelingSchema:{name}:v{version}")


def model_version_id(name: str, version: str) -> str:
    return bounded(f"model:{name}@{version}")


def metric_id(run_id: str, model_node_id: str, name: str, slice_key: str) -> str:
    """One metric of one evaluation run: the model, the metric name and the slice."""
    return f"metric:{_digest(run_id, model_node_id, name, slice_key)}"


def tensor_key(digest: str) -> str:
    return bounded(digest)
