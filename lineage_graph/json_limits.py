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


def json_problem(value: Any, root: str = "") -> JsonValueError | None:
    """The first value Neo4j or JSON cannot carry, or None. Iterative: depth cannot exhaust the
    stack here."""
    # Every event goes through here: a walk that builds no path answers the common case (all
    # clean) in about a third of the time; the walk that names the path runs only on a problem.
    return None if _is_clean(value) else _first_problem(value, root)


_SCALARS = (bool, type(None))


def _is_clean(value: Any) -> bool:
    """Whether nothing in ``value`` is a problem for :func:`_first_problem`. Exact types only
    (what ``json.loads`` makes); anything else is left to that walk."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            if not item.isascii() and _text_problem(item):
                return False
        elif kind is dict:
            if depth >= MAX_DEPTH:
                return False
            for key, child in item.items():
                if type(key) is not str or (not key.isascii() and _text_problem(key)):
                    return False
                if type(child) is str:
                    if not child.isascii() and _text_problem(child):
                        return False
                elif not isinstance(child, _SCALARS):
                    stack.append((child, depth + 1))
        elif kind is list:
            if depth >= MAX_DEPTH:
                return False
            stack.extend((child, depth + 1) for child in item)
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif not isinstance(item, _SCALARS):
            return False
    return True


def _first_problem(value: Any, root: str) -> JsonValueError | None:
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return JsonValueError(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                return JsonValueError(path, "integer out of the 64-bit range")
        elif isinstance(item, float):
            if not math.isfinite(item):
                return JsonValueError(path, "number is not finite (NaN, Infinity or too large)")
        elif isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return JsonValueError(path, problem)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                problem = _text_problem(str(key))
                if problem:
                    return JsonValueError(child_path, f"key: {problem}")
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return None


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
