"""`lineage-graph model fingerprint`: a digest that ignores tensor order, metadata and sharding
but not the weights or names, per-tensor digests that ignore names, and clear errors for files
that are not valid safetensors."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file

from lineage_graph.ml.fingerprint import InvalidModelFileError, fingerprint

_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}


def _weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "encoder.0.weight": rng.standard_normal((8, 4)).astype(np.float32),
        "encoder.0.bias": rng.standard_normal(8).astype(np.float32),
        "head.weight": rng.standard_normal((3, 8)).astype(np.float16),
        "step": np.array([1200], dtype=np.int64),
    }


def write_by_hand(path: Path, tensors: dict[str, np.ndarray], order: list[str],
                  metadata: dict[str, str] | None = None) -> None:
    """A safetensors file laid out in ``order`` (the library always sorts): the same model
    with its tensors' bytes in another order."""
    header: dict[str, object] = {"__metadata__": metadata} if metadata else {}
    data = b""
    for name in order:
        raw = tensors[name].tobytes()
        header[name] = {"dtype": _DTYPES[tensors[name].dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)


def test_digests_follow_the_documented_formulas(tmp_path: Path) -> None:
    """docs/labeling-and-models.md#model-fingerprints, computed here with plain hashlib."""
    weights = _weights()
    save_file(weights, str(tmp_path / "model.safetensors"))
    expected = {}
    for name, array in weights.items():
        head = f"{_DTYPES[array.dtype]}\n{json.dumps(list(array.shape))}\n".encode()
        expected[name] = "sha256:" + hashlib.sha256(head + array.tobytes()).hexdigest()
    lines = "".join(f"{name}\t{expected[name]}\n" for name in sorted(expected))
    found = fingerprint(tmp_path / "model.safetensors")
    assert {t.name: t.digest for t in found.tensors} == expected
    assert found.digest == "sha256:" + hashlib.sha256(lines.encode("utf-8")).hexdigest()


def test_digest_ignores_tensor_order_metadata_and_sharding(tmp_path: Path) -> None:
    weights = _weights()
    save_file(weights, str(tmp_path / "lib.safetensors"), metadata={"format": "pt"})
    write_by_hand(tmp_path / "reversed.safetensors", weights, sorted(weights, reverse=True),
                  metadata={"trainer": "other", "epoch": "7"})
    shards = tmp_path / "sharded"
    shards.mkdir()
    names = sorted(weights)
    save_file({n: weights[n] for n in names[:2]}, str(shards / "model-00001-of-00002.safetensors"))
    save_file({n: weights[n] for n in names[2:]}, str(shards / "model-00002-of-00002.safetensors"))

    found = [fingerprint(p) for p in (tmp_path / "lib.safetensors",
                                      tmp_path / "reversed.safetensors", shards)]
    assert len({f.digest for f in found}) == 1
    assert found[0].format == "safetensors"
    assert found[0].tensor_digests() == found[1].tensor_digests() == found[2].tensor_digests()
    assert [t.name for t in found[0].tensors] == sorted(weights)
    # The files differ byte for byte: a plain file hash would not have matched.
    assert ((tmp_path / "lib.safetensors").read_bytes()
            != (tmp_path / "reversed.safetensors").read_bytes())


def test_digest_changes_with_one_weight_and_tensor_digests_pin_down_which(tmp_path: Path) -> None:
    weights = _weights()
    save_file(weights, str(tmp_path / "a.safetensors"))
    tuned = dict(weights, **{"head.weight": weights["head.weight"] + np.float16(0.5)})
    save_file(tuned, str(tmp_path / "b.safetensors"))
    a, b = fingerprint(tmp_path / "a.safetensors"), fingerprint(tmp_path / "b.safetensors")
    assert a.digest != b.digest
    changed = {n for n, d in a.tensor_digests().items() if b.tensor_digests()[n] != d}
    assert changed == {"head.weight"}


def test_tensor_digest_is_its_content_not_its_name_but_the_model_digest_sees_names(
        tmp_path: Path) -> None:
    weights = _weights()
    save_file(weights, str(tmp_path / "a.safetensors"))
    renamed = {("backbone." + n if n.startswith("encoder") else n): t for n, t in weights.items()}
    save_file(renamed, str(tmp_path / "b.safetensors"))
    a, b = fingerprint(tmp_path / "a.safetensors"), fingerprint(tmp_path / "b.safetensors")
    assert a.digest != b.digest
    assert set(a.tensor_digests().values()) == set(b.tensor_digests().values())


def test_same_bytes_with_another_shape_or_dtype_is_another_tensor(tmp_path: Path) -> None:
    flat = np.arange(12, dtype=np.float32)
    save_file({"w": flat}, str(tmp_path / "flat.safetensors"))
    save_file({"w": flat.reshape(3, 4)}, str(tmp_path / "square.safetensors"))
    save_file({"w": flat.view(np.int32)}, str(tmp_path / "ints.safetensors"))
    digests = {fingerprint(tmp_path / f"{n}.safetensors").tensors[0].digest
               for n in ("flat", "square", "ints")}
    assert len(digests) == 3


def test_other_files_are_fingerprinted_by_their_bytes(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\x08\x07onnx-bytes" * 1000)
    found = fingerprint(model)
    assert found.format == "bytes" and found.tensors == ()
    assert found.digest == "sha256:" + hashlib.sha256(model.read_bytes()).hexdigest()


def _raw(header: object, data: bytes = b"\x00" * 8) -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


@pytest.mark.parametrize(("content", "problem"), [
    (b"\x01\x02", "shorter than the 8-byte header size"),
    (struct.pack("<Q", 10_000) + b"{}", "header size 10000 exceeds the file"),
    (struct.pack("<Q", 4) + b"{no}", "header is not JSON"),
    (_raw([]), "header is not a JSON object"),
    (_raw({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}), "outside the data"),
    (_raw({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}),
     "do not hold a F32 tensor of shape [3]"),
    (_raw({"w": {"dtype": "F32", "shape": [2], "offsets": [0, 8]}}),
     "data_offsets is not [begin, end]"),
    (_raw({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}),
     "shape is not a list of non-negative integers"),
    (_raw({"w": {"shape": [2], "data_offsets": [0, 8]}}), "dtype missing"),
])
def test_malformed_safetensors_are_refused_naming_the_problem(tmp_path: Path, content: bytes,
                                                              problem: str) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    with pytest.raises(InvalidModelFileError, match=problem.replace("[", r"\[")):
        fingerprint(path)


def test_a_tensor_name_in_two_shards_is_refused(tmp_path: Path) -> None:
    save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "a.safetensors"))
    save_file({"w": np.ones(2, np.float32)}, str(tmp_path / "b.safetensors"))
    with pytest.raises(InvalidModelFileError, match="more than one shard"):
        fingerprint(tmp_path)


_ARRAYS = st.lists(
    st.tuples(st.sampled_from([np.float32, np.float16, np.int64]),
              st.lists(st.integers(0, 5), min_size=0, max_size=3)),
    min_size=1, max_size=6)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=_ARRAYS, data=st.data())
def test_any_model_keeps_its_digest_under_any_layout_and_metadata(
        tmp_path: Path, specs: list[tuple[type, list[int]]], data: st.DataObject) -> None:
    rng = np.random.default_rng(len(specs))
    weights = {f"layer{i}.w": np.asarray(rng.standard_normal(shape) * 100).astype(dtype)
               for i, (dtype, shape) in enumerate(specs)}
    order = data.draw(st.permutations(sorted(weights)))
    metadata = data.draw(st.dictionaries(st.text(min_size=1, max_size=5),
                                         st.text(max_size=5), max_size=3))
    save_file(weights, str(tmp_path / "lib.safetensors"))
    write_by_hand(tmp_path / "hand.safetensors", weights, list(order), metadata or None)
    assert (fingerprint(tmp_path / "lib.safetensors").digest
            == fingerprint(tmp_path / "hand.safetensors").digest)


def test_cli_prints_the_digest_and_per_tensor_digests(tmp_path: Path) -> None:
    weights = _weights()
    save_file(weights, str(tmp_path / "m.safetensors"))
    expected = fingerprint(tmp_path / "m.safetensors")
    cli = [sys.executable, "-m", "lineage_graph.cli", "model", "fingerprint"]
    as_json = subprocess.run([*cli, str(tmp_path / "m.safetensors"), "--json"],
                             capture_output=True, text=True, check=True)
    printed = json.loads(as_json.stdout)
    assert printed["digest"] == expected.digest
    assert {t["name"]: t["digest"] for t in printed["tensors"]} == expected.tensor_digests()
    plain = subprocess.run([*cli, str(tmp_path / "m.safetensors")], capture_output=True,
                           text=True, check=True)
    assert plain.stdout.splitlines()[0].startswith(expected.digest + "  safetensors")
    assert len(plain.stdout.splitlines()) == 1 + len(weights)
    missing = subprocess.run([*cli, str(tmp_path / "nope.safetensors")], capture_output=True,
                             text=True)
    assert missing.returncode == 1 and "no such file" in missing.stderr
