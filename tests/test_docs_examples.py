"""The end-to-end example of docs/labeling-and-models.md runs against the real API and Neo4j and
gives the answer the page shows."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from lineage_graph.ids import labeling_schema_version_id

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "labeling_to_evaluation.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("labeling_to_evaluation", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_labeling_to_evaluation_example(api_url: str, tmp_path: Path) -> None:
    answer = _load().main(api_url, tmp_path)
    assert answer["schemaVersion"] == 1 and answer["labelsVersion"] == "batch-1"
    model = answer["model"]
    assert model["digest"].startswith("sha256:") and model["trainedBy"] == {"state": "COMPLETE"}
    values = {m["value"]: m["slice"] for m in model["metrics"]}
    assert values[0.74] is None
    assert {"set": "lighting", "option": "night"} in values[0.61]["sceneVariant"]["selections"]
    assert answer["upstreamSchemaVersions"] == [labeling_schema_version_id("pallet_visible", 1)]
