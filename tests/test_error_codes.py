"""One table says what every domain error is over HTTP and in GraphQL (lineage_graph.error_codes):
every error of lineage_graph.errors has a row, no row is shadowed by a base listed before it,
and both layers answer from it (the middleware's 401 and 403 bodies are checked in
tests/test_auth_and_limits.py)."""

from __future__ import annotations

import inspect

import pytest

from lineage_graph import errors
from lineage_graph.error_codes import ERROR_CODES, MALFORMED_BODY, code_of
from lineage_graph.graphql.errors import graphql_code
from lineage_graph.web.errors import error_response

DOMAIN_ERRORS = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(cls, errors.LineageGraphError)
                 and cls is not errors.LineageGraphError]


@pytest.mark.parametrize("kind", DOMAIN_ERRORS, ids=lambda k: k.__name__)
def test_every_domain_error_has_its_own_row(kind: type[errors.LineageGraphError]) -> None:
    assert any(row.kind is kind for row in ERROR_CODES), f"{kind.__name__} has no row"


def test_no_row_is_shadowed_by_a_base_listed_before_it() -> None:
    for position, row in enumerate(ERROR_CODES):
        for earlier in ERROR_CODES[:position]:
            assert not issubclass(row.kind, earlier.kind), (
                f"{row.kind.__name__} is never reached: {earlier.kind.__name__} comes first")


def test_http_and_graphql_answer_from_the_table() -> None:
    for exc, status, code, gql in (
            (errors.NotFoundError("no such job"), 404, "not_found", "NOT_FOUND"),
            (errors.PayloadTooLargeError("too big"), 413, "payload_too_large", "BAD_REQUEST"),
            (errors.InvalidEventError("eventTime", "not a time"), 422, "invalid_event",
             "BAD_REQUEST"),
            (errors.InvalidEventError("", "an event must be a JSON object"), 400,
             "bad_request", "BAD_REQUEST"),  # no field: a malformed body
            (errors.QueryTimeoutError("slow"), 503, "query_timeout", "TIMEOUT")):
        row = code_of(exc)
        assert row is not None
        response = error_response(exc)
        assert (response.status_code, row.http_code, graphql_code(exc)) == (status, code, gql)
    assert code_of(errors.InvalidDocumentError("", "not JSON")) is MALFORMED_BODY
    assert code_of(ValueError("a bug")) is None and graphql_code(ValueError()) is None
