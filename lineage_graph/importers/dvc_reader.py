"""Read a DVC pipeline's locked state (dvc.yaml and dvc.lock, every one in the repository) with
the ``dvc`` package (the optional ``lineage-graph[dvc]`` extra), at the working tree or at git
revisions: the only module that imports ``dvc``.

A stage is *locked* when dvc.lock records it (it ran: ``dvc repro``); stages defined but never
run have no hashes and are skipped, and so are outs DVC does not hash (``cache: false`` metrics
are hashed, ``persist`` outs too; only missing entries are skipped).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from lineage_graph.errors import InvalidRequestError, LineageGraphError
from lineage_graph.importers.dvc_lock_history import LockHistory, lock_digest

Progress = Callable[[str], None]


class DvcUnavailableError(LineageGraphError):
    """The ``dvc`` package is missing, or the repository cannot be read."""


@dataclass(frozen=True)
class DvcArtifact:
    path: str  # relative to the repository root, POSIX separators
    hash_name: str  # md5, etag, ...
    hash_value: str  # the DVC hash: a file's md5, or a directory's "<md5>.dir"
    size: int | None = None
    nfiles: int | None = None
    metric: bool = False


@dataclass(frozen=True)
class DvcStage:
    name: str  # the stage's name in its dvc.yaml (foreach stages: name@key)
    dvcfile: str  # the dvc.yaml holding it, relative to the root
    cmd: str
    deps: tuple[DvcArtifact, ...]
    outs: tuple[DvcArtifact, ...]
    params: dict[str, dict[str, Any]]  # params file -> {key: value}
    digest: str  # the lock state's identity (dvc_lock_history.lock_digest)
    # The commit that made this lock state, and its time: see dvc_lock_history (None: git
    # cannot tell, e.g. uncommitted locks).
    locked_in: str | None = None
    since: datetime | None = None

    @property
    def address(self) -> str:
        folder = str(PurePosixPath(self.dvcfile).parent)
        return self.name if folder == "." else f"{folder}:{self.name}"


@dataclass(frozen=True)
class DvcState:
    """The pipeline as locked at one revision (or in the working tree)."""

    rev: str  # as asked ("workspace" for the working tree)
    commit: str | None  # the resolved commit (None for the working tree)
    time: datetime  # the commit's time; the newest dvc.lock's modification time for the tree
    stages: tuple[DvcStage, ...]


def read_dvc(path: Path, revs: Iterable[str] = (), progress: Progress | None = None
             ) -> list[DvcState]:
    """The locked pipeline at each of ``revs`` in the order given, or at the working tree."""
    try:
        from dvc.repo import Repo
    except ImportError as exc:
        raise DvcUnavailableError(
            "the DVC importer needs the dvc package: pip install 'lineage-graph[dvc]'") from exc
    wanted = list(revs)
    try:
        with Repo(os.fspath(path)) as repo:
            history = LockHistory(repo.root_dir)
            if not wanted:
                if progress is not None:
                    progress("the working tree")
                # Each stage whose entry is HEAD's is dated through HEAD's history; one with
                # an uncommitted entry takes the lock file's modification time.
                head = history.head()
                stages = _stages(repo, history, None, head)
                return [DvcState(rev="workspace", commit=None,
                                 time=_lock_mtime(Path(repo.root_dir)), stages=stages)]
            states = []
            for rev in wanted:
                commit = _resolve(repo, rev)
                if progress is not None:
                    progress(f"revision {rev}")
                # brancher switches repo.fs (and so the index) to the revision's tree.
                for _ in repo.brancher(revs=[commit], workspace=False):
                    states.append(DvcState(rev=rev, commit=commit,
                                           time=_commit_time(repo, commit),
                                           stages=_stages(repo, history, commit, commit)))
            return states
    except LineageGraphError:
        raise
    except Exception as exc:  # dvc raises many unrelated types (NotDvcRepoError, SCMError...)
        raise DvcUnavailableError(f"cannot read the DVC repository {path}: {exc}") from exc


def _resolve(repo: Any, rev: str) -> str:
    try:
        return str(repo.scm.resolve_rev(rev))
    except Exception as exc:
        raise InvalidRequestError(f"--rev {rev!r}: not a git revision of {repo.root_dir}",
                                  field="rev") from exc


def _commit_time(repo: Any, commit: str) -> datetime:
    return datetime.fromtimestamp(repo.scm.resolve_commit(commit).commit_time, tz=UTC)


def _lock_mtime(root: Path) -> datetime:
    newest = root.stat().st_mtime
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".dvc")]  # caches: never a dvc.lock
        if "dvc.lock" in names:
            newest = max(newest, (Path(folder) / "dvc.lock").stat().st_mtime)
    return datetime.fromtimestamp(newest, tz=UTC)


def _stages(repo: Any, history: LockHistory, commit: str | None, date_from: str | None
            ) -> tuple[DvcStage, ...]:
    """The locked stages of the tree ``repo`` shows (``commit``; None: the working tree), each
    dated through the history from ``date_from`` when its entry is the one there."""
    from dvc.dependency.param import ParamsDependency
    from dvc.stage import PipelineStage

    found = []
    for stage in repo.index.stages:
        if not isinstance(stage, PipelineStage):
            continue  # a .dvc file tracks data; it is not a step of the pipeline
        dvcfile = _relative_path(repo, stage.path)
        entry = history.entry(commit, dvcfile, stage.name)
        if entry is None:
            continue  # defined in dvc.yaml, never locked (never run)
        deps, params = [], {}
        for dep in stage.deps:
            if isinstance(dep, ParamsDependency):
                values = dep.hash_info.value if dep.hash_info else None
                if isinstance(values, dict) and values:
                    params[_relative(repo, dep)] = dict(sorted(values.items()))
            elif dep.hash_info and dep.hash_info.value:
                deps.append(_artifact(repo, dep))
        outs = [_artifact(repo, out) for out in stage.outs
                if out.hash_info and out.hash_info.value]
        digest = lock_digest(entry)
        locked = None
        if date_from is not None:
            committed = history.entry(date_from, dvcfile, stage.name)
            if committed is not None and lock_digest(committed) == digest:
                locked = history.locked_since(date_from, dvcfile, stage.name)
        found.append(DvcStage(
            # The command as run is the lock's: dvc.yaml may have been edited since.
            name=stage.name, dvcfile=dvcfile, cmd=_cmd(entry.get("cmd")),
            deps=tuple(sorted(deps, key=lambda a: a.path)),
            outs=tuple(sorted(outs, key=lambda a: a.path)),
            params=dict(sorted(params.items())), digest=digest,
            locked_in=None if locked is None else locked[0],
            since=None if locked is None else locked[1]))
    return tuple(sorted(found, key=lambda s: (s.dvcfile, s.name)))


def _artifact(repo: Any, item: Any) -> DvcArtifact:
    meta = getattr(item, "meta", None)
    return DvcArtifact(path=_relative(repo, item), hash_name=str(item.hash_info.name),
                       hash_value=str(item.hash_info.value),
                       size=getattr(meta, "size", None), nfiles=getattr(meta, "nfiles", None),
                       metric=bool(getattr(item, "metric", False)))


def _relative(repo: Any, item: Any) -> str:
    """The dep's or out's path relative to the repository root, whatever revision is read."""
    return _relative_path(repo, item.fs_path)


def _relative_path(repo: Any, fs_path: str) -> str:
    # repo.root_dir is the clone's folder for the working tree and "/" inside a revision's tree.
    relative = os.path.relpath(fs_path, repo.root_dir) if os.path.isabs(fs_path) else fs_path
    return PurePosixPath(*Path(relative).parts).as_posix()


def _cmd(cmd: Any) -> str:
    return "\n".join(cmd) if isinstance(cmd, list) else str(cmd or "")
