"""Property-based requests over the server's OpenAPI schema (schemathesis, bounded): no 5xx, and every
response matches its documented schema. Each operation gets a few generated requests (fixed seed)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from platform_support import LiveServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytest_plugins = ["platform_support"]

EXAMPLES = 6


def test_no_server_errors_and_responses_match_schema(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) >= 25
    calls = 0
    keys: list[str] = []
    statuses: dict[int, int] = {}
    for op in ops:
        keys.append(server.register("fuzz"))  # a key per operation: the fuzzer may revoke its own key

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case) -> None:
            nonlocal calls
            calls += 1
            resp = case.call_and_validate(base_url=server.url, headers={"X-API-Key": keys[-1]},
                                   checks=[not_a_server_error, response_schema_conformance])
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

        run()
    assert calls >= len(ops)
    assert statuses.get(200, 0) + statuses.get(201, 0) >= 20, statuses  # not only rejections
    assert statuses.get(401, 0) <= EXAMPLES, statuses  # only after a revoke of the operation's own key
    print("schemathesis status codes:", dict(sorted(statuses.items())))
