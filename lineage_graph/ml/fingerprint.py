"""Model fingerprints: a digest of a model's weights that ignores tensor order and metadata, plus
one digest per tensor, so a fine-tune that kept some layers frozen shares those tensors' digests
with its base.

safetensors files (and directories of sharded ``*.safetensors`` files) are read tensor by tensor:

- a tensor's digest is ``sha256:`` + sha256 of ``dtype``, ``shape`` and its raw bytes: the same
  weights give the same digest whatever the tensor is called or where it sits in the file;
- the model digest is ``sha256:`` + sha256 of the sorted ``name<TAB>tensor digest`` lines: the
  order of tensors in the file, the ``__metadata__`` block and the split into shards do not
  change it; renaming a tensor or changing one weight does.

Any other file is fingerprinted by its bytes (format ``bytes``, no tensors).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lineage_graph.errors import InvalidDocumentError

_CHUNK = 1 << 20
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2,
    "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8,
}

ProgressCallback = Callable[[int], None]  # called with the number of bytes just read


class InvalidModelFileError(InvalidDocumentError):
    """A model file that claims to be safetensors but cannot be read as one."""


@dataclass(frozen=True)
class TensorDigest:
    name: str
    dtype: str
    shape: tuple[int, ...]
    digest: str


@dataclass(frozen=True)
class ModelFingerprint:
    digest: str
    format: str  # "safetensors" or "bytes"
    size_bytes: int
    tensors: tuple[TensorDigest, ...] = ()

    def tensor_digests(self) -> dict[str, str]:
        """Tensor name -> digest: the ``tensors`` field of the mlModel facet."""
        return {t.name: t.digest for t in self.tensors}

    def as_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest, "format": self.format, "sizeBytes": self.size_bytes,
            "tensors": [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape),
                         "digest": t.digest} for t in self.tensors],
        }


def model_files(path: Path) -> list[Path]:
    """The files a fingerprint of ``path`` reads: the file itself, or a directory's
    ``*.safetensors`` shards."""
    if path.is_dir():
        shards = sorted(p for p in path.rglob("*.safetensors") if p.is_file())
        if not shards:
            raise InvalidModelFileError(str(path), "directory holds no *.safetensors file")
        return shards
    if not path.is_file():
        raise InvalidModelFileError(str(path), "no such file")
    return [path]


def fingerprint(path: Path, progress: ProgressCallback | None = None) -> ModelFingerprint:
    files = model_files(path)
    if len(files) == 1 and files[0].suffix != ".safetensors":
        return _bytes_fingerprint(files[0], progress)
    tensors: dict[str, TensorDigest] = {}
    size = 0
    for file in files:
        size += file.stat().st_size
        for tensor in _safetensors_digests(file, progress):
            if tensor.name in tensors:
                raise InvalidModelFileError(f"{file}:{tensor.name}",
                                            "tensor name appears in more than one shard")
            tensors[tensor.name] = tensor
    ordered = tuple(sorted(tensors.values(), key=lambda t: t.name))
    lines = "".join(f"{t.name}\t{t.digest}\n" for t in ordered)
    digest = "sha256:" + hashlib.sha256(lines.encode("utf-8")).hexdigest()
    return ModelFingerprint(digest=digest, format="safetensors", size_bytes=size, tensors=ordered)


def _bytes_fingerprint(file: Path, progress: ProgressCallback | None) -> ModelFingerprint:
    h = hashlib.sha256()
    size = 0
    with file.open("rb") as fh:
        for chunk in _read(fh, file.stat().st_size, progress):
            h.update(chunk)
            size += len(chunk)
    return ModelFingerprint(digest="sha256:" + h.hexdigest(), format="bytes", size_bytes=size)


def _safetensors_digests(file: Path, progress: ProgressCallback | None) -> Iterator[TensorDigest]:
    total = file.stat().st_size
    with file.open("rb") as fh:
        prefix = fh.read(8)
        if len(prefix) < 8:
            raise InvalidModelFileError(str(file), "shorter than the 8-byte header size")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > min(_MAX_HEADER_BYTES, total - 8):
            raise InvalidModelFileError(
                str(file), f"header size {header_len} exceeds the file ({total} bytes)")
        try:
            header = json.loads(fh.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidModelFileError(str(file), f"header is not JSON: {exc}") from exc
        if not isinstance(header, dict):
            raise InvalidModelFileError(str(file), "header is not a JSON object")
        data_start = 8 + header_len
        entries = [_entry(file, name, spec, total - data_start)
                   for name, spec in header.items() if name != "__metadata__"]
        # Read in file order (sequential I/O), whatever the header's key order.
        for name, dtype, shape, begin, end in sorted(entries, key=lambda e: e[3]):
            fh.seek(data_start + begin)
            h = hashlib.sha256(f"{dtype}\n{json.dumps(list(shape))}\n".encode())
            for chunk in _read(fh, end - begin, progress):
                h.update(chunk)
            yield TensorDigest(name=name, dtype=dtype, shape=shape,
                               digest="sha256:" + h.hexdigest())


def _entry(file: Path, name: str, spec: Any, data_size: int
           ) -> tuple[str, str, tuple[int, ...], int, int]:
    where = f"{file}:{name}"
    if not isinstance(spec, dict):
        raise InvalidModelFileError(where, "tensor entry is not an object")
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if not isinstance(dtype, str):
        raise InvalidModelFileError(where, "dtype missing")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise InvalidModelFileError(where, "shape is not a list of non-negative integers")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)):
        raise InvalidModelFileError(where, "data_offsets is not [begin, end]")
    begin, end = offsets
    if not 0 <= begin <= end <= data_size:
        raise InvalidModelFileError(
            where, f"data_offsets [{begin}, {end}] outside the data ({data_size} bytes)")
    width = _DTYPE_BYTES.get(dtype)
    if width is not None and math.prod(shape) * width != end - begin:
        raise InvalidModelFileError(
            where, f"{end - begin} bytes do not hold a {dtype} tensor of shape {shape}")
    return name, dtype, tuple(shape), begin, end


def _read(fh: BinaryIO, length: int, progress: ProgressCallback | None) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        chunk = fh.read(min(_CHUNK, remaining))
        if not chunk:
            raise InvalidModelFileError(fh.name, "file ended before its tensors' data")
        remaining -= len(chunk)
        if progress is not None:
            progress(len(chunk))
        yield chunk
