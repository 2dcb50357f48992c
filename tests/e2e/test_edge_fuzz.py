"""schemathesis against the live gateway, as an anonymous caller, a student and an instructor:
no 5xx, every status documented, every body matching its schema (API.md contract rules).

Bounded (20 examples per operation and role, no shrinking past the deadline); run with
`pytest -m fuzz tests/e2e/test_edge_fuzz.py`, under the e2e lock like any system test."""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import System
from tests.e2e.accounts import Account, account

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
BOUNDED = settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="session")
def api_schema(system: System) -> schemathesis.BaseSchema:
    spec = httpx.get(f"{system.base_url}/openapi.json", timeout=10).json()
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.config.update(base_url=system.base_url)
    return loaded


@pytest.fixture(scope="session")
async def student(system: System) -> Account:
    return await account(system.settings)


@pytest.fixture(scope="session")
async def instructor(system: System) -> Account:
    return await account(system.settings, "instructor")


@pytest.mark.fuzz
@schema.parametrize()
@BOUNDED
def test_anonymous_caller_gets_no_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


@pytest.mark.fuzz
@schema.parametrize()
@BOUNDED
def test_student_gets_no_server_error(case: schemathesis.Case, student: Account) -> None:
    case.call_and_validate(headers=student.headers, checks=CHECKS)


@pytest.mark.fuzz
@schema.parametrize()
@BOUNDED
def test_instructor_gets_no_server_error(case: schemathesis.Case, instructor: Account) -> None:
    case.call_and_validate(headers=instructor.headers, checks=CHECKS)
