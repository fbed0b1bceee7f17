"""Canonical JSON: the form whose sha256 identifies an event or a facet payload."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Key-sorted, whitespace-free JSON (UTF-8 kept as is)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
