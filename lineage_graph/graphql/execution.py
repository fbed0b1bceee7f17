"""GraphQL execution with a short path for objects made only of plain leaf fields.

A lineage answer of 151 nodes and 150 edges is about 1,200 leaf fields. graphql-core resolves
each one on its own: a path, a resolve-info object, strawberry's resolver wrapper, an
awaitable check and a recursive completion through the non-null wrapper, about 3 µs per field
on this machine (3.6 ms of that answer). When every field selected on an object is a plain
attribute (a strawberry field with no resolver, no permission or field extension, no
arguments) of a scalar or enum type, and no schema extension wraps resolvers, the object is
completed here in one loop: read the attribute, coerce it as graphql-core would.

Anything unusual in the object (a null in a non-null field, a value its scalar refuses, an
attribute that fails to read, an exception or awaitable held in one) sends the whole object
back through graphql-core's own path, which produces the same data and the same errors as
without this module. The attributes already read are then read again: harmless for the plain
attributes of this schema's types (dataclasses built from rows), and the reason a field with a
resolver, a permission class or a field extension never takes this path.
``tests/test_graphql_execution.py`` holds both paths to the same answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLObjectType,
    Undefined,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# (response key, python attribute, attribute reader, coercion, non-null)
_LeafField = tuple[str, str, Callable[[Any, str], Any], Callable[[Any], Any], bool]


class _Fallback(Exception):
    """The object needs graphql-core's own path (its errors say why)."""


class LeafFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing all-plain-leaf objects in one loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request, by the identity of a collected field set: graphql-core collects the
        # fields of a list's items once and hands every item the same set.
        self._leaf_plans: dict[tuple[str, int], tuple[GroupedFieldSet,
                                                      list[_LeafField] | None]] = {}
        manager = self.middleware_manager
        # A schema extension with a `resolve` hook must see every field: no short path then.
        self._leaves_allowed = manager is None or not manager.middlewares

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any,
                       path: Path | None, grouped_field_set: GroupedFieldSet,
                       position_context: Any) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._leaf_plan(parent_type, grouped_field_set) if self._leaves_allowed \
            else None
        if plan is not None:
            try:
                return self._complete_leaves(plan, source_value)
            except _Fallback:
                pass
        return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                      position_context)

    def _complete_leaves(self, plan: list[_LeafField], source: Any) -> dict[str, Any]:
        """graphql-core's completion of each plain leaf field (complete_value then
        complete_leaf_value), minus its bookkeeping; anything but the plain case falls back."""
        is_awaitable = self.is_awaitable
        results: dict[str, Any] = {}
        for response_key, attribute, read, coerce, non_null in plan:
            try:
                value = read(source, attribute)
            except Exception as failed:  # graphql-core reports it at the field's own path
                raise _Fallback from failed
            if value is None:
                if non_null:
                    raise _Fallback
                results[response_key] = None
                continue
            if value is Undefined or isinstance(value, Exception) or is_awaitable(value):
                raise _Fallback
            try:
                coerced = coerce(value)
            except Exception as refused:
                raise _Fallback from refused
            if coerced is None or coerced is Undefined:
                raise _Fallback
            results[response_key] = coerced
        return results

    def _leaf_plan(self, parent_type: GraphQLObjectType,
                   grouped_field_set: GroupedFieldSet) -> list[_LeafField] | None:
        key = (parent_type.name, id(grouped_field_set))
        cached = self._leaf_plans.get(key)
        if cached is not None:
            return cached[1]
        plan = _plain_leaves(self, parent_type, grouped_field_set)
        # The set is kept with its plan so that its id cannot be reused while cached.
        self._leaf_plans[key] = (grouped_field_set, plan)
        return plan


def _plain_leaves(context: LeafFieldsExecutionContext, parent_type: GraphQLObjectType,
                  grouped_field_set: GroupedFieldSet) -> list[_LeafField] | None:
    """How to complete each selected field, or None when any is not a plain leaf."""
    plan: list[_LeafField] = []
    for response_key, field_details_list in grouped_field_set.items():
        node = field_details_list[0].node
        field_def = context.schema.get_field(parent_type, node.name.value)
        # A plain attribute: strawberry's resolver reads it with no info (`_is_default`) and
        # the field has no resolver and no extensions (is_basic_field). `_is_default` alone
        # is not enough: strawberry also sets it on a field with permission classes or field
        # extensions and no resolver, which must run. __typename and resolvers lack both.
        if field_def is None or node.arguments or not getattr(field_def.resolve,
                                                              "_is_default", False):
            return None
        strawberry_field = field_def.extensions.get("strawberry-definition")
        if strawberry_field is None or not strawberry_field.is_basic_field:
            return None
        leaf_type = get_nullable_type(field_def.type)
        if not is_leaf_type(leaf_type):
            return None
        plan.append((response_key, strawberry_field.python_name,
                     strawberry_field.default_resolver, leaf_type.coerce_output_value,
                     is_non_null_type(field_def.type)))
    return plan
