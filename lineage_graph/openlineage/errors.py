"""Turn pydantic validation errors into messages that name the offending field."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


def dotted_path(loc: Sequence[int | str]) -> str:
    """``("outputs", 0, "namespace")`` -> ``"outputs[0].namespace"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def first_error(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    """The first problem as (field path, message)."""
    err = exc.errors(include_url=False)[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    path = dotted_path(loc)
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    return path, str(err["msg"])


def describe_validation_error(exc: ValidationError) -> str:
    """All problems, each naming its field, joined on one line."""
    parts = []
    for err in exc.errors(include_url=False):
        parts.append(f"{dotted_path(err['loc']) or '(facet)'}: {err['msg']}")
    return "; ".join(parts)
