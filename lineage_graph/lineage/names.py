"""How a person reads a node: a short name for reasons and summaries, and a step of an
evidence path (used by lineage views and forensic answers alike)."""

from __future__ import annotations

import json
from typing import Any


def display_name(node: dict[str, Any]) -> str:
    """A short human name for reasons and summaries."""
    kind = node["kind"]
    if kind == "DATASET_VERSION":
        return f"{node.get('datasetName')}@{node.get('version')}"
    if kind == "LABELING_SCHEMA_VERSION":
        return f"{node.get('name')} v{node.get('version')}"
    if kind == "MODEL_VERSION":
        return f"{node.get('name')}@{node.get('version')}"
    if kind == "SCENE":
        return f"{node.get('sceneId') or node.get('name')} {node.get('version') or ''}".strip()
    if kind == "RUN":
        return f"run {node.get('runId')} of {node.get('jobName')}"
    return str(node.get("name") or node["nodeId"])


def step_name(node: dict[str, Any]) -> str:
    """What a person reads in an evidence path: the kind in words and a name, e.g. ``run
    train_detector (2026-03-01)`` or ``dataset version warehouse/night_wide@<run>``."""
    kind = node["kind"]
    if kind == "RUN":
        started = node.get("startedAt")  # a neo4j DateTime: its str() is ISO-8601
        when = str(started)[:10] if started is not None else str(node.get("runId"))[:8]
        return f"run {node.get('jobName') or node.get('runId')} ({when})"
    if kind == "MODEL_VERSION":
        return f"model {node.get('name')} {node.get('version')}"
    if kind == "SCENE_VARIANT":
        selections = node.get("selections")
        chosen = json.loads(selections) if isinstance(selections, str) else selections or {}
        return f"scene variant {node.get('sceneId')} " + ",".join(
            f"{k}={v}" for k, v in sorted(chosen.items()))
    words = {"DATASET_VERSION": "dataset version", "DATASET": "dataset", "JOB": "job",
             "SCENE": "scene", "LABELING_SESSION": "labeling session",
             "LABELING_SCHEMA_VERSION": "labeling schema"}
    return f"{words.get(kind, kind.lower())} {display_name(node)}"
