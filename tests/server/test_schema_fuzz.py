"""Schemathesis against the OpenAPI schema: no 5xx, and every response matches the schema.

Bounded: a few generated requests per operation, so the whole run takes seconds.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


FUZZ_SETTINGS = settings(
    max_examples=4,
    deadline=None,
    database=None,
    derandomize=True,  # the same requests every run: a failure reproduces, never flickers
    suppress_health_check=list(HealthCheck),
)


def test_every_operation_conforms(api_schema: Any, admin_key: str) -> None:
    # schemathesis' own pytest plugin does not support pytest 9 yet, so drive hypothesis here
    headers = {"Authorization": f"Bearer {admin_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    statuses: list[int] = []

    for operation in operations:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def conforms(case: Any) -> None:
            statuses.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        conforms()
    assert 401 not in statuses  # the requests really reached the routes
    assert sum(200 <= status < 300 for status in statuses) >= len(operations)


def test_schema_lists_every_route(app: Any) -> None:
    paths = app.openapi()["paths"]
    expected = {
        "/healthz", "/metrics", "/v1/me", "/v1/memories/messages", "/v1/memories/texts",
        "/v1/memories/documents", "/v1/memories", "/v1/memories/count", "/v1/memories/{id}",
        "/v1/search", "/v1/search/sessions", "/v1/cubes", "/v1/cubes/{cube}",
        "/v1/cubes/{cube}/shares", "/v1/cubes/{cube}/shares/{with_user}", "/v1/users",
        "/v1/keys", "/v1/keys/{key_id}", "/v1/audit", "/v1/audit/verify", "/v1/stats", "/readyz",
    }
    assert expected <= set(paths)
    search = paths["/v1/search"]["post"]
    assert search["security"] == [{"HTTPBearer": []}]
    error_ref = search["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorOut")
