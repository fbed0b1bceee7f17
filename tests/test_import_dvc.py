"""`lineage-graph import dvc` against a real DVC repository made here with git and the dvc package
(dvc init, three stages, dvc repro, a data change, dvc repro): stages become jobs, lock states
runs, deps and outs dataset versions named by their DVC hashes; two revisions give two versions
of the model file and lineageDiff between them shows what changed. A stage DVC did not re-run
is the same run at both revisions; re-importing changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from lineage_graph.db.connection import Database
from lineage_graph.ids import dataset_version_id
from lineage_graph.settings import Settings
from tests.conftest import graph_snapshot, graphql_data, query
from tests.optional_extras import require_extra
from tests.test_cli import cli

require_extra("dvc", "dvc")

DVC_YAML = """\
stages:
  setup:
    cmd: echo "seed 42" > config.txt
    params:
    - setup.seed
    outs:
    - config.txt
  prepare:
    cmd: mkdir -p prepared && sort data/raw.csv > prepared/train.csv
    deps:
    - data/raw.csv
    outs:
    - prepared
  train:
    cmd: cat config.txt prepared/train.csv | wc -l > model.txt
    deps:
    - config.txt
    - prepared
    params:
    - train.lr
    outs:
    - model.txt
"""


@dataclass
class Repo:
    path: Path
    namespace: str
    commits: list[str]  # oldest first

    def locked(self, rev: str, stage: str, kind: str, path: str) -> str:
        """The hash dvc.lock records at ``rev`` for ``path`` among ``stage``'s deps/outs."""
        text = _git(self.path, "show", f"{rev}:dvc.lock")
        entries = yaml.safe_load(text)["stages"][stage][kind]
        return str(next(e["md5"] for e in entries if e["path"] == path))


def _env(day: str) -> dict[str, str]:
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "ana",
            "GIT_AUTHOR_EMAIL": "ana@example.com", "GIT_COMMITTER_NAME": "ana",
            "GIT_COMMITTER_EMAIL": "ana@example.com", "GIT_AUTHOR_DATE": day,
            "GIT_COMMITTER_DATE": day}


def _git(path: Path, *args: str, day: str = "2026-03-01T09:00:00+00:00") -> str:
    return subprocess.run(["git", *args], cwd=path, env=_env(day), capture_output=True,
                          text=True, check=True, timeout=60).stdout


def _dvc(path: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=path, env=_env("now"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    path = tmp_path_factory.mktemp("pipelines") / "frames-pipeline"
    (path / "data").mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    _dvc(path, "init", "-q")
    (path / "dvc.yaml").write_text(DVC_YAML)
    (path / "params.yaml").write_text("setup:\n  seed: 42\ntrain:\n  lr: 0.01\n")
    (path / "data" / "raw.csv").write_text("frame_id,label\nf2,1\nf1,0\n")
    _dvc(path, "repro", "-q")
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "first frames", day="2026-03-01T09:00:00+00:00")
    with (path / "data" / "raw.csv").open("a") as fh:
        fh.write("f3,1\n")
    _dvc(path, "repro", "-q")
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "more frames", day="2026-03-08T09:00:00+00:00")
    commits = _git(path, "rev-list", "--reverse", "HEAD").split()
    return Repo(path=path, namespace="dvc://frames-pipeline", commits=commits)


def _import(settings: Settings, repo: Repo, *args: str) -> str:
    done = cli(settings, "import", "dvc", str(repo.path), *args, DVC_NO_ANALYTICS="1")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_revisions_give_two_versions_and_lineage_diff_shows_what_changed(
        db: Database, client: TestClient, neo4j_server: Settings, repo: Repo) -> None:
    printed = _import(neo4j_server, repo, "--rev", "HEAD~1", "--rev", "HEAD")
    # setup did not re-run after the data change: 3 + 2 lock states, START and COMPLETE each.
    assert "read 2 pipeline states (6 locked stages): 10 events" in printed
    assert "accepted 10, duplicate 0, rejected 0" in printed
    runs = query(db, """MATCH (j:Job {namespace: $ns})-[:HAS_RUN]->(r:Run)
                        RETURN j.name AS job, count(r) AS runs ORDER BY job""",
                 ns=repo.namespace)
    assert runs == [{"job": "prepare", "runs": 2}, {"job": "setup", "runs": 1},
                    {"job": "train", "runs": 2}]
    old, new = repo.commits
    versions = query(db, """MATCH (v:DatasetVersion)-[:VERSION_OF]->
                                  (:Dataset {namespace: $ns, name: 'model.txt'})
                            RETURN v.version AS version ORDER BY version""", ns=repo.namespace)
    assert sorted(v["version"] for v in versions) == sorted(
        repo.locked(rev, "train", "outs", "model.txt") for rev in (old, new))
    a = dataset_version_id(repo.namespace, "model.txt",
                           repo.locked(new, "train", "outs", "model.txt"))
    b = dataset_version_id(repo.namespace, "model.txt",
                           repo.locked(old, "train", "outs", "model.txt"))
    diff = graphql_data(client, """query($a: ID!, $b: ID!) { lineageDiff(a: $a, b: $b) {
        onlyInA { kind name } onlyInB { kind name } } }""", a=a, b=b)["lineageDiff"]
    only_new = {(n["kind"], n["name"]) for n in diff["onlyInA"]}
    raw_new = repo.locked(new, "prepare", "deps", "data/raw.csv")
    raw_old = repo.locked(old, "prepare", "deps", "data/raw.csv")
    assert ("DATASET_VERSION", f"data/raw.csv@{raw_new}") in only_new
    assert ("DATASET_VERSION", f"prepared@{repo.locked(new, 'prepare', 'outs', 'prepared')}"
            ) in only_new
    assert ("DATASET_VERSION", f"data/raw.csv@{raw_old}") in {
        (n["kind"], n["name"]) for n in diff["onlyInB"]}
    # config.txt did not change: it is upstream of both, so in neither side of the diff.
    config = f"config.txt@{repo.locked(new, 'setup', 'outs', 'config.txt')}"
    assert config not in {n["name"] for n in diff["onlyInA"] + diff["onlyInB"]}


def test_a_stage_is_a_job_with_its_command_and_a_run_with_its_params(
        db: Database, client: TestClient, neo4j_server: Settings, repo: Repo) -> None:
    _import(neo4j_server, repo, "--rev", "HEAD")
    rows = query(db, """MATCH (j:Job {namespace: $ns, name: 'train'})-[:HAS_RUN]->(r:Run)
                        MATCH (r)-[:HAS_FACET]->(f:Facet {name: 'dvcStage'})
                        MATCH (j)-[:HAS_FACET]->(c:Facet {name: 'sourceCode'})
                        RETURN r.state AS state, f.payload AS stage, c.payload AS code""",
                 ns=repo.namespace)
    assert len(rows) == 1 and rows[0]["state"] == "COMPLETE"
    stage = json.loads(rows[0]["stage"])
    assert stage["params"] == {"params.yaml": {"train.lr": 0.01}}
    assert stage["commit"] == repo.commits[-1]
    assert json.loads(rows[0]["code"])["sourceCode"] == (
        "cat config.txt prepared/train.csv | wc -l > model.txt")
    started = query(db, """MATCH (j:Job)-[:HAS_RUN]->(r:Run)
                                 -[:HAS_FACET]->(f:Facet {name: 'dvcStage'})
                           RETURN j.name AS job, toString(r.startedAt) AS at, f.payload AS stage
                           ORDER BY job""")
    # A run is dated by the commit that locked its state, whatever revision it was read at:
    # train re-ran for the second commit; setup has not re-run since the first.
    assert [(r["job"], r["at"][:16], json.loads(r["stage"])["commit"]) for r in started] == [
        ("prepare", "2026-03-08T09:00", repo.commits[1]),
        ("setup", "2026-03-01T09:00", repo.commits[0]),
        ("train", "2026-03-08T09:00", repo.commits[1])]


def test_reimporting_and_importing_the_clean_working_tree_change_nothing(
        db: Database, neo4j_server: Settings, repo: Repo) -> None:
    _import(neo4j_server, repo, "--rev", "HEAD~1", "--rev", "HEAD")
    before = graph_snapshot(db)
    assert "accepted 0, duplicate 10, rejected 0" in _import(
        neo4j_server, repo, "--rev", "HEAD~1", "--rev", "HEAD")
    # The working tree's dvc.lock is HEAD's: the same lock states, the same events.
    assert "accepted 0, duplicate 6, rejected 0" in _import(neo4j_server, repo)
    assert graph_snapshot(db) == before


def test_bad_paths_and_revisions_are_one_clear_error(neo4j_server: Settings, repo: Repo,
                                                      tmp_path: Path) -> None:
    unknown = cli(neo4j_server, "import", "dvc", str(repo.path), "--rev", "no-such-branch")
    assert unknown.returncode == 1
    assert "--rev 'no-such-branch': not a git revision" in unknown.stderr
    plain = cli(neo4j_server, "import", "dvc", str(tmp_path))
    assert plain.returncode == 1
    assert f"cannot read the DVC repository {tmp_path}" in plain.stderr
    assert "Traceback" not in plain.stderr + unknown.stderr


def _clone(repo: Repo, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "frames-pipeline"
    shutil.copytree(repo.path, copy, symlinks=True)
    return copy


def test_the_working_tree_dates_each_stage_by_its_own_lock_entry(
        db: Database, neo4j_server: Settings, repo: Repo, tmp_path: Path) -> None:
    """Uncommitted work: train re-ran with a new learning rate (not committed), and someone
    edited setup's command in dvc.yaml without running it. Only train is a new state; setup's
    run is the one dvc.lock records, with the command it ran."""
    _import(neo4j_server, repo, "--rev", "HEAD~1", "--rev", "HEAD")
    work = _clone(repo, tmp_path)
    (work / "params.yaml").write_text("setup:\n  seed: 42\ntrain:\n  lr: 0.02\n")
    _dvc(work, "repro", "-q", "train")
    (work / "dvc.yaml").write_text(DVC_YAML.replace('echo "seed 42"', 'echo "seed 43"'))
    dirty = cli(neo4j_server, "import", "dvc", str(work), "--namespace", repo.namespace)
    assert dirty.returncode == 0, dirty.stderr
    assert "accepted 2, duplicate 4, rejected 0" in dirty.stdout
    rows = query(db, """MATCH (j:Job {name: 'train'})-[:HAS_RUN]->(r:Run)
                              -[:HAS_FACET]->(f:Facet {name: 'dvcStage'})
                        RETURN f.payload AS stage ORDER BY r.startedAt""")
    newest = json.loads(rows[-1]["stage"])
    assert newest["params"] == {"params.yaml": {"train.lr": 0.02}}
    assert "commit" not in newest  # not committed: dated by dvc.lock's modification time
    code = query(db, """MATCH (:Job {name: 'setup'})-[:HAS_FACET]->(c:Facet {name: 'sourceCode'})
                        RETURN c.payload AS code""")
    assert json.loads(code[0]["code"])["sourceCode"] == 'echo "seed 42" > config.txt'


def test_a_dvc_root_below_the_git_root_is_dated_too(
        db: Database, neo4j_server: Settings, tmp_path: Path) -> None:
    top = tmp_path / "monorepo"
    project = top / "vision"
    project.mkdir(parents=True)
    _git(top, "init", "-q", "-b", "main")
    _dvc(project, "init", "-q", "--subdir")
    (project / "raw.txt").write_text("frames\n")
    (project / "dvc.yaml").write_text("stages:\n  count:\n    cmd: wc -l < raw.txt > n.txt\n"
                                      "    deps: [raw.txt]\n    outs: [n.txt]\n")
    _dvc(project, "repro", "-q")
    _git(top, "add", "-A")
    _git(top, "commit", "-qm", "count", day="2026-05-01T08:00:00+00:00")
    (top / "README.md").write_text("unrelated\n")
    _git(top, "add", "-A")
    _git(top, "commit", "-qm", "readme", day="2026-05-09T08:00:00+00:00")
    done = cli(neo4j_server, "import", "dvc", str(project), "--rev", "HEAD")
    assert done.returncode == 0, done.stderr
    started = query(db, "MATCH (:Job {name: 'count'})-[:HAS_RUN]->(r:Run) "
                        "RETURN toString(r.startedAt) AS at")
    assert [r["at"][:16] for r in started] == ["2026-05-01T08:00"]  # when it was locked
