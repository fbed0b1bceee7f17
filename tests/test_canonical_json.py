"""Canonical JSON keys the event record: its bytes must never change, whichever encoder writes
them. orjson writes floatless values (lineage_graph/openlineage/canonical.py); these tests hold
it to the json module's form, the one every stored hash was computed from."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from unittest import mock

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_graph.json_limits import scan_json
from lineage_graph.openlineage import canonical
from lineage_graph.openlineage.canonical import canonical_json
from lineage_graph.openlineage.parse import parse_event
from tests.events import T0, ds, new_run_id, run_event


def reference(value: Any) -> str:
    """The canonical form as it was first defined (and as stored hashes were computed)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Any text: control characters, quotes, backslashes, U+2028, astral characters, lone
# surrogates (which the json module writes and orjson refuses).
texts = st.text(alphabet=st.characters(codec=None), max_size=12)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
scalars = st.none() | st.booleans() | int64 | st.integers() | texts
floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    scalars | floats,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=30)
floatless_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=30)


@settings(max_examples=600, deadline=None)
@given(json_values)
def test_canonical_form_is_the_json_modules_for_any_value(value: Any) -> None:
    assert canonical_json(value, scan_json(value).floatless) == reference(value)


@settings(max_examples=600, deadline=None)
@given(floatless_values)
def test_floatless_values_take_orjson_and_give_the_same_bytes(value: Any) -> None:
    scan = scan_json(value)
    if scan.problem is not None:  # a lone surrogate or a huge integer: refused before hashing
        return
    assert scan.floatless
    with mock.patch.object(canonical.orjson, "dumps", wraps=orjson.dumps) as dumps:
        written = canonical_json(value, True)
    dumps.assert_called_once()
    assert written == reference(value)
    # orjson's own bytes, not a fallback to the json module
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() == written


def test_a_float_anywhere_makes_a_value_not_floatless() -> None:
    for value in ({"a": [1, {"b": 1e-05}]}, [0.5], 1e16, {"k": {"x": 1.0}}):
        assert not scan_json(value).floatless
        assert canonical_json(value, scan_json(value).floatless) == reference(value)
    # Why: orjson spells these floats otherwise, so the hash would change.
    assert orjson.dumps(1e-05) != reference(1e-05).encode()


def test_what_is_not_json_is_left_to_the_json_module() -> None:
    for value in ({1: "a"}, ("a", 1), {"k": ("t",)}):
        assert not scan_json(value).floatless
        assert canonical_json(value, scan_json(value).floatless) == reference(value)


def test_a_lone_surrogate_falls_back_to_the_json_modules_form() -> None:
    value = {"k": "\ud800"}
    assert canonical_json(value, True) == reference(value)


def test_an_events_hash_is_the_hash_of_its_json_module_form() -> None:
    """The event record's key: a known event keeps its sha256 (resending it is a duplicate)."""
    job = ("spark", "nightly_étl")
    event = run_event("COMPLETE", new_run_id(), job, T0, [ds("s3://lake", "in", ["id", "ts"])],
                      [ds("s3://lake", "out", ["id"], lineage={"id": [("s3://lake", "in", "id")]})])
    parsed = parse_event(event)
    assert scan_json(event).floatless  # the fast path is the one taken
    assert parsed.sha256 == hashlib.sha256(reference(event).encode()).hexdigest()
    for facet in parsed.all_facets():
        assert facet.canonical_payload == reference(facet.raw)
