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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from lineage_graph.errors import InvalidRequestError, LineageGraphError
from lineage_graph.importers.dvc_lock_history import LockHistory

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
    commit: str | None  # the resolved commit (the working tree: HEAD when its locks are HEAD's)
    time: datetime  # the commit's time; else the newest dvc.lock's modification time
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
                commit = _clean_head(repo)
                time = _commit_time(repo, commit) if commit else _lock_mtime(path, repo)
                return [DvcState(rev="workspace", commit=commit, time=time,
                                 stages=_dated(_stages(repo), history, commit))]
            states = []
            for rev in wanted:
                commit = _resolve(repo, rev)
                if progress is not None:
                    progress(f"revision {rev}")
                # brancher switches repo.fs (and so the index) to the revision's tree.
                for _ in repo.brancher(revs=[commit], workspace=False):
                    states.append(DvcState(rev=rev, commit=commit,
                                           time=_commit_time(repo, commit),
                                           stages=_dated(_stages(repo), history, commit)))
            return states
    except LineageGraphError:
        raise
    except Exception as exc:  # dvc raises many unrelated types (NotDvcRepoError, SCMError...)
        raise DvcUnavailableError(f"cannot read the DVC repository {path}: {exc}") from exc


def _dated(stages: tuple[DvcStage, ...], history: LockHistory, commit: str | None
           ) -> tuple[DvcStage, ...]:
    if commit is None:  # uncommitted locks: the state's own time (the lock file's mtime)
        return stages
    dated = []
    for stage in stages:
        found = history.locked_since(commit, stage.dvcfile, stage.name)
        dated.append(stage if found is None else replace(stage, locked_in=found[0],
                                                         since=found[1]))
    return tuple(dated)


def _resolve(repo: Any, rev: str) -> str:
    try:
        return str(repo.scm.resolve_rev(rev))
    except Exception as exc:
        raise InvalidRequestError(f"--rev {rev!r}: not a git revision of {repo.root_dir}",
                                  field="rev") from exc


def _commit_time(repo: Any, commit: str) -> datetime:
    return datetime.fromtimestamp(repo.scm.resolve_commit(commit).commit_time, tz=UTC)


def _clean_head(repo: Any) -> str | None:
    """HEAD's commit when the working tree's dvc.lock files are HEAD's (then the working tree
    *is* HEAD's lock state, and importing either sends the same events), else None."""
    import subprocess

    try:
        head = str(repo.scm.get_rev())
        changed = subprocess.run(
            ["git", "-C", repo.root_dir, "status", "--porcelain", "--", "*dvc.lock"],
            capture_output=True, text=True, timeout=60, check=True).stdout
    except Exception:  # not a git repository (dvc init --no-scm), or no commit yet
        return None
    return None if changed.strip() else head


def _lock_mtime(path: Path, repo: Any) -> datetime:
    locks = [p for p in Path(repo.root_dir).rglob("dvc.lock")
             if ".dvc" not in p.parts and ".git" not in p.parts]
    newest = max((p.stat().st_mtime for p in locks), default=path.stat().st_mtime)
    return datetime.fromtimestamp(newest, tz=UTC)


def _stages(repo: Any) -> tuple[DvcStage, ...]:
    from dvc.dependency.param import ParamsDependency
    from dvc.stage import PipelineStage

    found = []
    for stage in repo.index.stages:
        if not isinstance(stage, PipelineStage):
            continue  # a .dvc file tracks data; it is not a step of the pipeline
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
        if not deps and not outs and not params:
            continue  # defined in dvc.yaml, never locked
        found.append(DvcStage(
            name=stage.name, dvcfile=_relative_path(repo, stage.path), cmd=_cmd(stage.cmd),
            deps=tuple(sorted(deps, key=lambda a: a.path)),
            outs=tuple(sorted(outs, key=lambda a: a.path)),
            params=dict(sorted(params.items()))))
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
