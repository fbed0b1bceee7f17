"""modelOrigin: known model versions ranked by the tensors they share with a model, so a
fine-tune with frozen layers is traced to its base even when nobody declared derivedFrom."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from openlineage.client.serde import Serde
from safetensors.numpy import save_file

from lineage_graph.emitter_facets import ml_model_facet
from lineage_graph.ingest.service import IngestService
from lineage_graph.ml.fingerprint import fingerprint
from tests.events import T0, ds, new_run_id, run_event

LAYERS = ["embed", "block0", "block1", "block2", "block3", "head"]


def _layers(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"{name}.weight": rng.standard_normal((16, 16)).astype(np.float32)
            for name in LAYERS}


def _fine_tune(base: dict[str, np.ndarray], frozen: set[str], seed: int
               ) -> dict[str, np.ndarray]:
    """Train every layer but the frozen ones (their tensors stay byte-identical)."""
    rng = np.random.default_rng(seed)
    return {name: tensor if name.split(".")[0] in frozen
            else tensor + rng.standard_normal(tensor.shape).astype(np.float32) * 0.01
            for name, tensor in base.items()}


def _register(client: TestClient, tmp: Path, name: str, version: str,
              weights: dict[str, np.ndarray], trained_at: int,
              derived_from: list[str] | None = None) -> str:
    """Save the model, fingerprint it with the emitter helper, and send the training run."""
    path = tmp / f"{name}-{version}.safetensors"
    save_file(weights, str(path))
    facet: dict[str, Any] = Serde.to_dict(ml_model_facet(name, version, path,
                                                         framework="pytorch",
                                                         derived_from=derived_from or []))
    out = ds("s3://models", f"{name}/{version}")
    out["facets"]["mlModel"] = facet
    run_id = new_run_id()
    at = T0 + timedelta(days=trained_at)
    for event_type, when in (("START", at), ("COMPLETE", at + timedelta(hours=2))):
        response = client.post("/api/v1/lineage", json=run_event(
            event_type, run_id, ("train", name), when, outputs=[out]))
        assert response.status_code == 201, response.text
    return fingerprint(path).digest


ORIGIN = """query($digest: String!) { modelOrigin(digest: $digest) {
  rank modelVersion { name version } sharedTensors queryTensors candidateTensors score declared
} }"""


def _origin(client: TestClient, digest: str) -> list[dict[str, Any]]:
    body = client.post("/graphql", json={"query": ORIGIN, "variables": {"digest": digest}}
                       ).json()
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["modelOrigin"]
    return found


def test_an_undeclared_fine_tune_is_traced_to_its_base(client: TestClient, tmp_path: Path
                                                       ) -> None:
    base = _layers(seed=1)
    _register(client, tmp_path, "backbone", "1.0", base, trained_at=0)
    _register(client, tmp_path, "unrelated", "1.0", _layers(seed=99), trained_at=1)
    # A sibling fine-tune of the same base that kept only the embedding frozen.
    _register(client, tmp_path, "detector", "0.9", _fine_tune(base, {"embed"}, seed=3),
              trained_at=2)
    tuned = _register(client, tmp_path, "detector", "1.0",
                      _fine_tune(base, {"embed", "block0", "block1"}, seed=4), trained_at=3)

    ranked = _origin(client, tuned)
    assert [(r["rank"], r["modelVersion"]["name"], r["modelVersion"]["version"],
             r["sharedTensors"]) for r in ranked] == [
        (1, "backbone", "1.0", 3), (2, "detector", "0.9", 1)]
    top = ranked[0]
    assert (top["queryTensors"], top["candidateTensors"]) == (6, 6)
    assert top["score"] == pytest.approx(0.5)
    assert top["declared"] is False  # found by tensors, not by a derivedFrom declaration


def test_ties_go_to_the_candidate_trained_first(client: TestClient, tmp_path: Path) -> None:
    base = _layers(seed=1)
    # Two bit-identical copies of the base registered under different names, the later first.
    _register(client, tmp_path, "copy", "1.0", base, trained_at=5)
    _register(client, tmp_path, "backbone", "1.0", base, trained_at=0)
    tuned = _register(client, tmp_path, "detector", "1.0", _fine_tune(base, {"embed"}, seed=4),
                      trained_at=6, derived_from=["sha256:not-a-known-digest"])
    ranked = _origin(client, tuned)
    assert [r["modelVersion"]["name"] for r in ranked] == ["backbone", "copy"]
    assert ranked[0]["sharedTensors"] == ranked[1]["sharedTensors"] == 1


def test_a_declared_base_is_flagged(client: TestClient, tmp_path: Path) -> None:
    base = _layers(seed=1)
    base_digest = _register(client, tmp_path, "backbone", "1.0", base, trained_at=0)
    tuned = _register(client, tmp_path, "detector", "1.0", _fine_tune(base, {"embed"}, seed=4),
                      trained_at=1, derived_from=[base_digest])
    [top] = _origin(client, tuned)
    assert top["declared"] is True


def test_unknown_digest_and_models_without_tensors_are_clear_errors(
        client: TestClient, ingest: IngestService) -> None:
    body = client.post("/graphql", json={"query": ORIGIN,
                                         "variables": {"digest": "sha256:nope"}}).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "sha256:nope" in error["message"]

    from tests.events import model_training
    ingest.ingest_raw([(e, None) for e in model_training("v1", "sha256:declared-only")])
    body = client.post("/graphql", json={"query": ORIGIN, "variables": {
        "digest": "sha256:declared-only"}}).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "tensors" in error["message"]
