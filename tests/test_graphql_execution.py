"""The GraphQL executor's short path for plain leaf fields (lineage_graph/graphql/execution.py)
answers exactly what graphql-core's own path answers, data and errors alike, and is taken
where it should be.

No Neo4j here: the schemas are small strawberry schemas over in-memory objects; the lineage
answers through the real schema and Neo4j are held by the API tests.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, ClassVar

import pytest
import strawberry
from graphql.execution.executor import Executor
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.scalars import JSON

from lineage_graph.graphql.execution import LeafFieldsExecutionContext


@strawberry.enum
class Colour(Enum):
    RED = "RED"
    GREEN = "GREEN"


@strawberry.type
class Item:
    id: strawberry.ID
    colour: Colour
    label: str | None
    count: int
    score: float | None
    flag: bool
    extra: JSON | None = None  # a scalar that coerces anything: only the checks guard it

    @strawberry.field
    def doubled(self) -> int:
        return self.count * 2


@strawberry.type
class Query:
    items: list[Item]


def _schemas(*extensions: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    """The same schema executed by strawberry's own context and by the short path."""
    plain = strawberry.Schema(query=Query, extensions=list(extensions))
    short = strawberry.Schema(query=Query, extensions=list(extensions),
                              execution_context_class=LeafFieldsExecutionContext)
    return plain, short


def _answer(schema: strawberry.Schema, query: str, items: list[Any],
            variables: dict[str, Any] | None = None) -> tuple[Any, list[tuple[str, Any]]]:
    # The API executes asynchronously; both ways run this execution context's code.
    result = schema.execute_sync(query, root_value=Query(items=items),
                                 variable_values=variables)
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


PLAIN, SHORT = _schemas()

# Any value an attribute may hold, right or wrong for its field: the short path must fall back
# for each wrong one and then report what graphql-core reports.
_ANY_VALUE = st.one_of(st.none(), st.integers(min_value=-(2**40), max_value=2**40),
                       st.floats(allow_nan=True), st.text(max_size=5), st.booleans(),
                       st.sampled_from(list(Colour)), st.just(ValueError("held")))


def _item(values: dict[str, Any]) -> Item:
    item = Item(id=strawberry.ID("i"), colour=Colour.RED, label=None, count=0, score=None,
                flag=False)
    for name, value in values.items():
        setattr(item, name, value)
    return item


_ITEMS = st.lists(st.dictionaries(st.sampled_from(
    ["id", "colour", "label", "count", "score", "flag", "extra"]), _ANY_VALUE, min_size=1),
    min_size=1, max_size=6).map(lambda rows: [_item(row) for row in rows])

_QUERIES = [
    "{ items { id colour label count score flag extra } }",
    "{ items { a: id b: count id } }",
    "{ items { __typename id } }",
    "{ items { id doubled } }",
    "{ items { ...F } } fragment F on Item { label flag }",
    "query($x: Boolean!) { items { id count @include(if: $x) label @skip(if: $x) } }",
]


def _same(query: str, items: list[Item]) -> tuple[Any, list[tuple[str, Any]]]:
    variables = {"x": True} if "$x" in query else None
    expected = _answer(PLAIN, query, items, variables)
    got = _answer(SHORT, query, items, variables)
    assert _comparable(got) == _comparable(expected)
    return got


def _comparable(value: Any) -> Any:
    """NaN is not equal to itself; the answers compare as equal when both hold it."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_comparable(v) for v in value]
    return value


@settings(max_examples=150, deadline=None)
@given(items=_ITEMS)
def test_the_short_path_answers_what_graphql_core_answers(items: list[Item]) -> None:
    for query in _QUERIES:
        _same(query, items)


@pytest.mark.parametrize(("values", "message"), [
    ({"count": None}, "Cannot return null for non-nullable field Item.count."),
    ({"count": 2**40}, "Int cannot represent non 32-bit signed integer value: 1099511627776"),
    ({"label": ValueError("held")}, "held"),
    ({"flag": "yes"}, "Boolean cannot represent a non boolean value: 'yes'"),
    ({"extra": ValueError("held")}, "held"),
])
def test_a_wrong_value_gets_graphql_cores_error_at_its_path(values: dict[str, Any],
                                                            message: str) -> None:
    items = [_item({}), _item(values)]
    _, errors = _same("{ items { id colour label count score flag extra } }", items)
    assert errors == [(message, ["items", 1, next(iter(values))])]


def _fields_resolved_one_by_one(schema: strawberry.Schema, query: str,
                                items: list[Item]) -> int:
    calls = 0
    original = Executor.execute_field

    def counting(self: Executor, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Executor, "execute_field", counting)
        _answer(schema, query, items)
    return calls


def test_plain_leaf_objects_skip_the_per_field_resolution() -> None:
    items = [_item({"count": n, "label": f"n{n}"}) for n in range(100)]
    query = "{ items { id colour label count score flag } }"
    assert _fields_resolved_one_by_one(PLAIN, query, items) == 1 + 100 * 6
    assert _fields_resolved_one_by_one(SHORT, query, items) == 1  # only `items` itself


def test_an_object_with_a_resolver_field_goes_the_usual_way() -> None:
    items = [_item({"count": n}) for n in range(10)]
    query = "{ items { id doubled } }"
    assert _fields_resolved_one_by_one(SHORT, query, items) == 1 + 10 * 2
    assert _answer(SHORT, query, items)[0]["items"][3] == {"id": "i", "doubled": 6}


class _SeesEveryField(SchemaExtension):
    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        _SeesEveryField.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


def test_an_extension_that_wraps_resolvers_still_sees_every_field() -> None:
    _, short = _schemas(_SeesEveryField)
    _SeesEveryField.seen = []
    data, errors = _answer(short, "{ items { id count } }", [_item({}), _item({"count": 4})])
    assert not errors and data == {"items": [{"id": "i", "count": 0}, {"id": "i", "count": 4}]}
    assert sorted(_SeesEveryField.seen) == ["count", "count", "id", "id", "items"]


class _Deny(BasePermission):
    message = "denied"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


class _Upper(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        return str(next_(source, info, **kwargs)).upper()


@strawberry.type
class Guarded:
    name: str
    secret: str | None = strawberry.field(permission_classes=[_Deny])
    shout: str = strawberry.field(extensions=[_Upper()])


class _Broken:
    """An object whose attribute fails to read."""

    name = "n"

    @property
    def label(self) -> str:
        raise RuntimeError("unreadable")


@strawberry.type
class Plain:
    name: str
    label: str | None


@strawberry.type
class GuardedQuery:
    guarded: Guarded
    plain: Plain


def _both_ways(query: str, root: Any) -> tuple[Any, Any]:
    answers = []
    for context in (None, LeafFieldsExecutionContext):
        schema = strawberry.Schema(query=GuardedQuery, execution_context_class=context)
        result = schema.execute_sync(query, root_value=root)
        answers.append((result.data, sorted((e.message, e.path) for e in result.errors or [])))
    return answers[0], answers[1]


def test_permission_classes_and_field_extensions_still_run() -> None:
    root = GuardedQuery(guarded=Guarded(name="n", secret="s3cret", shout="hi"),
                        plain=Plain(name="n", label=None))
    expected, got = _both_ways("{ guarded { name secret shout } }", root)
    assert got == expected == ({"guarded": {"name": "n", "secret": None, "shout": "HI"}},
                               [("denied", ["guarded", "secret"])])


def test_an_attribute_that_fails_to_read_is_reported_at_its_own_path() -> None:
    root = GuardedQuery(guarded=Guarded(name="n", secret=None, shout="x"),
                        plain=_Broken())  # type: ignore[arg-type]
    expected, got = _both_ways("{ plain { name label } }", root)
    assert got == expected == ({"plain": {"name": "n", "label": None}},
                               [("unreadable", ["plain", "label"])])


def test_the_api_schema_executes_with_the_short_path() -> None:
    from lineage_graph.graphql.schema import schema

    assert schema.execution_context_class is LeafFieldsExecutionContext
