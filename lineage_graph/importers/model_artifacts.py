"""The digest of a model version's artifacts, read from local disk, defensively.

A registry lets anyone who can register a model name any path as its source, and the importer
runs with its user's rights: it hashes only regular files inside the artifact root of the
experiment the model came from (symlinks are not followed), within a size and file budget. Any
other case, and any file it cannot read or parse, gives a ``reference`` digest (the model's
identity, not its content) and a warning, never an aborted import.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

MAX_FILES = 100_000
MAX_BYTES = 64 * 2**30


@dataclass(frozen=True)
class ArtifactDigest:
    digest: str
    format: str  # safetensors, bytes, directory, reference
    tensors: dict[str, str] | None = None
    warning: str | None = None


def artifact_digest(location: Path | None, root: Path | None, identity: str) -> ArtifactDigest:
    """``location``: the artifacts (a file or a folder); ``root``: where they must lie."""
    reference = f"mlflow:{identity}"
    if location is None:
        return ArtifactDigest(reference, "reference")
    if root is None or not _inside(location, root):
        return ArtifactDigest(reference, "reference", warning=(
            f"{identity}: artifacts at {location} are outside the experiment's artifact root; "
            "not read (reference digest)"))
    if not location.exists():
        return ArtifactDigest(reference, "reference")
    try:
        files = _regular_files(location)
    except _Refused as exc:
        return ArtifactDigest(reference, "reference", warning=f"{identity}: {exc}; not read "
                                                              "(reference digest)")
    if not files:
        return ArtifactDigest(reference, "reference")
    try:
        return _digest(location, files)
    except (OSError, ValueError) as exc:  # unreadable, or not the format it claims
        return ArtifactDigest(reference, "reference", warning=f"{identity}: cannot fingerprint "
                                                              f"{location}: {exc}")


class _Refused(Exception):
    pass


def _inside(location: Path, root: Path) -> bool:
    try:
        return location.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def _regular_files(location: Path) -> list[Path]:
    if location.is_symlink():
        raise _Refused(f"{location} is a symbolic link")
    if location.is_file():
        return [location]
    files: list[Path] = []
    total = 0
    for folder, dirs, names in os.walk(location, followlinks=False):
        for name in (*dirs, *names):
            if (Path(folder) / name).is_symlink():
                raise _Refused(f"{Path(folder) / name} is a symbolic link")
        for name in names:
            path = Path(folder) / name
            if not path.is_file():
                continue
            files.append(path)
            total += path.stat().st_size
            if len(files) > MAX_FILES or total > MAX_BYTES:
                raise _Refused(f"{location} holds more than {MAX_FILES} files or "
                               f"{MAX_BYTES // 2**30} GiB")
    return sorted(files)


def _digest(location: Path, files: list[Path]) -> ArtifactDigest:
    from lineage_graph.errors import InvalidDocumentError
    from lineage_graph.ml.fingerprint import fingerprint

    try:
        if location.is_file() or any(f.suffix == ".safetensors" for f in files):
            found = fingerprint(location)
            return ArtifactDigest(found.digest, found.format, found.tensor_digests() or None)
    except InvalidDocumentError as exc:
        raise ValueError(str(exc)) from exc
    lines = []
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        lines.append(f"{file.relative_to(location).as_posix()}\t{digest.hexdigest()}\n")
    combined = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
    return ArtifactDigest("sha256:" + combined, "directory")
