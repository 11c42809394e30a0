"""Fuzzing the HTTP API from its own OpenAPI schema (schemathesis): whatever a client sends, the
answer is never a 5xx, and its status code and content type are ones the schema declares.

By default the coverage phase sends only its invalid boundary cases (each valid one is a full
search, ~0.1-1 s); SERVECOST_FUZZ_FULL=1 sends the valid ones too (a few minutes)."""

import os

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import content_type_conformance, not_a_server_error, status_code_conformance  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from servecost.web.app import create_app  # noqa: E402

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
if not os.environ.get("SERVECOST_FUZZ_FULL"):
    schema.config.phases.coverage.generation.modes = [GenerationMode.NEGATIVE]


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance])
