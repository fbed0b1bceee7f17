"""Optional extras (mlflow, dvc) the importer tests need: installed by the dev install, so in CI
(CI=true) a missing one fails the test instead of skipping it."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require_extra(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"needs the {module} package: pip install -e '.[{extra}]' (or '.[dev]')",
                    allow_module_level=True)
