"""Graph shapes that hurt lineage backends, as OpenLineage events (benchmarks/queries.py).

- **Hub**: a curated dataset re-written every 100 training runs and read by one training job
  with many runs (100 / 10,000 / 100,000: the history) and by 30 report jobs (the breadth).
  Upstream of it: a scene variant rendered into frames, curated. Downstream: each training
  run writes a checkpoint version, which one evaluation job reads. The lineage answer around the
  hub has the same nodes whatever the number of training runs; only the history grows.
- **Chain**: 120 jobs, each reading the previous one's output: lineage 100+ hops deep.
- **Fan**: one dataset read by 50 jobs, each writing two datasets (~150 nodes): the
  equal-answer-size comparison with raw Cypher.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tests.events import T0, ds, facet, run_event

_IDS = uuid.UUID("6c1d2e8f-3b4a-4c5d-9e6f-7a8b9c0d1e2f")
HUB_NS = "s3://hub"
HUB_DATASET = ("s3://hub", "frames/curated")
HUB_SCENE = "hub_warehouse"
HUB_VARIANT = {"lighting": "night", "layout": "aisle_narrow"}
REPORT_JOBS = 30
CURATE_EVERY = 100  # training runs between two re-writes of the curated hub dataset
CHAIN_LENGTH = 120
FAN_JOBS = 50


def _run_id(key: str) -> str:
    return str(uuid.uuid5(_IDS, key))


def _complete(key: str, job: str, minute: int, inputs: list[dict[str, Any]],
              outputs: list[dict[str, Any]], namespace: str = "hub") -> dict[str, Any]:
    return run_event("COMPLETE", _run_id(key), (namespace, job),
                     T0 + timedelta(minutes=minute), inputs, outputs)


def hub_start_events() -> list[dict[str, Any]]:
    """The hub's surroundings: scene, render, first curation, report jobs, evaluation."""
    scene = ds("usd://hub", "warehouse/night")
    scene["facets"]["usdScene"] = facet("UsdSceneDatasetFacet", sceneId=HUB_SCENE,
                                        rootLayer="warehouse.usda",
                                        variantSelections=HUB_VARIANT)
    frames = ds(HUB_NS, "frames/raw", fields=["frame_id", "image"])
    events = [_complete("render", "render", 0, [scene], [frames]),
              _complete("curate/0", "curate", 1, [ds(HUB_NS, "frames/raw")],
                        [ds(*HUB_DATASET, fields=["frame_id", "image", "label"])])]
    events += [_complete(f"report/{i}", f"report_{i:02d}", 2, [ds(*HUB_DATASET)],
                         [ds(HUB_NS, f"reports/{i:02d}")]) for i in range(REPORT_JOBS)]
    events.append(_complete("evaluate", "evaluate", 3, [ds(HUB_NS, "checkpoints")],
                            [ds(HUB_NS, "metrics")]))
    return events


def hub_training_events(first: int, last: int) -> list[dict[str, Any]]:
    """Training runs first..last-1 (one COMPLETE event each, a minute apart), with a re-write
    of the hub dataset before every CURATE_EVERY-th of them."""
    events = []
    for i in range(first, last):
        minute = 10 + 2 * i
        if i and i % CURATE_EVERY == 0:
            events.append(_complete(f"curate/{i}", "curate", minute - 1,
                                    [ds(HUB_NS, "frames/raw")], [ds(*HUB_DATASET)]))
        events.append(_complete(f"train/{i}", "train", minute, [ds(*HUB_DATASET)],
                                [ds(HUB_NS, "checkpoints")]))
    return events


def chain_events() -> list[dict[str, Any]]:
    return [_complete(f"chain/{i}", f"step_{i:03d}", i, [ds("s3://chain", f"d{i:03d}")],
                      [ds("s3://chain", f"d{i + 1:03d}")], namespace="chain")
            for i in range(CHAIN_LENGTH)]


def fan_events() -> list[dict[str, Any]]:
    """One source read by FAN_JOBS jobs, each writing two datasets with a schema: 1 + 50 + 100
    nodes at job level, every dataset with fields and facets."""
    return [_complete(f"fan/{i}", f"fan_{i:02d}", i, [ds("s3://fan", "source", ["id", "x"])],
                      [ds("s3://fan", f"out/{i:02d}/a", ["id", "a"]),
                       ds("s3://fan", f"out/{i:02d}/b", ["id", "b"])], namespace="fan")
            for i in range(FAN_JOBS)]
