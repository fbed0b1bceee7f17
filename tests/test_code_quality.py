"""The tree stays ruff- and mypy-clean (CI runs these with the rest of the suite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_ruff_is_clean() -> None:
    result = _run("ruff", "check", "lineage_graph", "tests", "benchmarks", "docs")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = _run("mypy", "lineage_graph")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py")
                                          if p.stem != "__init__"))
def test_every_benchmark_imports(script: str) -> None:
    """Benchmarks are not run by the suite; a refactor must still not leave one importing a
    name that moved (ruff does not resolve imports)."""
    done = subprocess.run([sys.executable, "-c", f"import benchmarks.{script}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
