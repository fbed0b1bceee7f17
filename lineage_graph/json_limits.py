"""What JSON may hold before anything is acknowledged: values Neo4j and JSON itself can carry.

Python's ``json`` reads more than JSON (``NaN``, ``Infinity``), turns ``1e400`` into infinity,
accepts integers of any size and strings holding lone surrogates (``"\\ud800"``), and recurses
once per nesting level. Each of those failed later (an OverflowError in the driver, a
UnicodeEncodeError when the event was written, a response that is not JSON, a RecursionError):
after the event had been acknowledged, or as a 500. :func:`loads` and :func:`json_problem`
refuse them up front, naming the place.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64  # OpenLineage events nest about 8 deep; schema facets with structs a few more
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class JsonValueError(ValueError):
    """A JSON text or value outside what lineage-graph stores; ``path`` is where."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


def loads(text: str, check: bool = True) -> Any:
    """``json.loads`` that never raises anything but JsonValueError (with the position for
    syntax errors) and, with ``check``, refuses what :func:`json_problem` refuses."""
    value = _read(text)
    problem = json_problem(value) if check else None
    if problem is not None:
        raise problem
    return value


def _read(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JsonValueError("", f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
    except RecursionError as exc:
        raise JsonValueError("", f"nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # NaN/Infinity, or an integer of more than 4 300 digits
        raise JsonValueError("", str(exc)) from exc


@dataclass(frozen=True)
class JsonScan:
    """What one walk of a value found: the first value Neo4j or JSON cannot carry (or None),
    and whether the value holds JSON's own types only (dicts, lists, strings, integers,
    booleans, null) and no float. Such a value's canonical form can be written by orjson
    (``openlineage.canonical``), whose floats are spelt unlike the json module's."""

    problem: JsonValueError | None
    floatless: bool


def json_problem(value: Any, root: str = "") -> JsonValueError | None:
    """The first value Neo4j or JSON cannot carry, or None."""
    return scan_json(value, root).problem


def scan_json(value: Any, root: str = "") -> JsonScan:
    """:func:`json_problem`'s walk, also telling whether the value is floatless. Iterative:
    depth cannot exhaust the stack here. Every event goes through this walk, and almost every
    value is fine: an item carries its place as a link to its parent's, so only the place of a
    value at fault is spelt out."""
    floatless = True
    stack: list[tuple[Any, _Place, int]] = [(value, None, 0)]
    while stack:
        item, place, depth = stack.pop()
        if depth > MAX_DEPTH:
            return JsonScan(JsonValueError(_path(root, place),
                                           f"nested deeper than {MAX_DEPTH} levels"), False)
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                return JsonScan(JsonValueError(_path(root, place),
                                               "integer out of the 64-bit range"), False)
        elif isinstance(item, float):
            floatless = False
            if not math.isfinite(item):
                return JsonScan(JsonValueError(
                    _path(root, place), "number is not finite (NaN, Infinity or too large)"),
                    False)
        elif isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return JsonScan(JsonValueError(_path(root, place), problem), False)
        elif isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str or not key.isascii():
                    if type(key) is not str:
                        floatless = False  # the json module writes such keys as strings
                    problem = _text_problem(str(key))
                    if problem:
                        return JsonScan(JsonValueError(_path(root, (place, key, False)),
                                                       f"key: {problem}"), False)
                if depth < MAX_DEPTH and (child is None or (kind := type(child)) is bool or (
                        kind is str and child.isascii())):
                    continue  # nothing to check in it (the commonest values: no stack entry)
                stack.append((child, (place, key, False), depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                if depth < MAX_DEPTH and (child is None or (kind := type(child)) is bool or (
                        kind is str and child.isascii())):
                    continue
                stack.append((child, (place, index, True), depth + 1))
        else:
            floatless = False  # not JSON's own (a tuple, a datetime): left to the json module
    return JsonScan(None, floatless)


# Where a value sits: its parent's place, its key (or index), whether it is an index; None for
# the root.
_Place = tuple[Any, Any, bool] | None


def _path(root: str, place: _Place) -> str:
    """``a.b[2].c`` (after ``root``) for a place."""
    steps: list[tuple[Any, bool]] = []
    while place is not None:
        place, key, is_index = place
        steps.append((key, is_index))
    path = root
    for key, is_index in reversed(steps):
        if is_index:
            path = f"{path}[{key}]"
        elif path:
            path = f"{path}.{key}"
        else:
            path = str(key)
    return path


def _text_problem(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"lone surrogate at character {exc.start} (not encodable as UTF-8)"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
