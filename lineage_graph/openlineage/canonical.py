"""Canonical JSON: the form whose sha256 identifies an event or a facet payload.

The form is the json module's ``sort_keys=True, separators=(",", ":"), ensure_ascii=False``,
and must stay byte for byte what it has been: event records are keyed by its hash, so an event
sent again is known by it. orjson writes the same bytes about eight times faster for values
holding JSON's own types and no float (its floats are spelt otherwise: ``1e-5`` for
``1e-05``); callers that know a value is such (``json_limits.scan_json``) say so.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def canonical_json(value: Any, floatless: bool = False) -> str:
    """Key-sorted, whitespace-free JSON (UTF-8 kept as is). ``floatless``: the value holds
    only dicts, lists, strings, integers, booleans and null (``JsonScan.floatless``)."""
    if floatless:
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            pass  # what orjson refuses (past 64-bit integers, lone surrogates): json's form
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
