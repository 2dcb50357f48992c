"""The gateway's admission check against real Redis: 100 requests a minute per caller and
route, the session-revocation marker in the same round trip, and failing open without Redis."""

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

from core.settings import Settings
from storage.keyvalue import connect_redis
from storage.ratelimit import AccessGate, rate_limit_key
from storage.revocations import SessionRevocations
from tests.conftest import free_port


@pytest.fixture
async def gate(settings: Settings) -> AccessGate:
    return AccessGate(connect_redis(settings), limit_per_minute=100)


def fail_open_count(check: str) -> float:
    return REGISTRY.get_sample_value("smartcourse_redis_fail_open_total", {"check": check}) or 0.0


async def test_the_101st_request_in_a_window_is_refused_with_a_retry_after(
    gate: AccessGate,
) -> None:
    subject = f"user-{uuid.uuid4().hex}"
    for _ in range(100):
        assert (await gate.admit(subject, "/auth/me")).allowed
    refused = await gate.admit(subject, "/auth/me")
    assert not refused.allowed
    assert 1 <= refused.retry_after <= 60


async def test_limits_are_kept_per_route_template_and_per_caller(
    gate: AccessGate, settings: Settings
) -> None:
    subject = f"user-{uuid.uuid4().hex}"
    for _ in range(101):
        await gate.admit(subject, "/users/{user_id}")
    assert not (await gate.admit(subject, "/users/{user_id}")).allowed
    assert (await gate.admit(subject, "/auth/me")).allowed
    assert (await gate.admit(f"other-{subject}", "/users/{user_id}")).allowed
    redis = connect_redis(settings)
    assert int(await redis.get(rate_limit_key(subject, "/users/{user_id}"))) == 102
    assert 0 < await redis.ttl(rate_limit_key(subject, "/users/{user_id}")) <= 60


async def test_a_revoked_session_is_reported_in_the_same_check(
    gate: AccessGate, settings: Settings
) -> None:
    revoked, live = str(uuid.uuid4()), str(uuid.uuid4())
    await SessionRevocations(connect_redis(settings), 900).revoke([revoked])
    assert (await gate.admit("u1", "/auth/me", revoked)).session_revoked
    assert not (await gate.admit("u1", "/auth/me", live)).session_revoked


async def test_more_checks_at_once_than_connections_wait_for_one(settings: Settings) -> None:
    """Past its connections the pool makes a check wait, not fail open (redis-py's default
    pool raised at once, and 128 users' bursts went through unlimited)."""
    few = settings.model_copy(update={"redis_max_connections": 4})
    gate = AccessGate(connect_redis(few), limit_per_minute=20)
    subject, before = f"user-{uuid.uuid4().hex}", fail_open_count("rate_limit")
    admissions = await asyncio.gather(*(gate.admit(subject, "/auth/me") for _ in range(150)))
    assert fail_open_count("rate_limit") == before
    assert sum(admission.allowed for admission in admissions) == 20


async def test_without_redis_requests_are_admitted_and_counted(settings: Settings) -> None:
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    gate = AccessGate(connect_redis(dead), limit_per_minute=1)
    before = fail_open_count("rate_limit")
    for _ in range(3):
        admission = await gate.admit("u1", "/auth/me", "some-session")
        assert admission.allowed and not admission.session_revoked
    assert fail_open_count("rate_limit") == before + 3


async def test_the_check_survives_a_server_that_lost_its_scripts(
    gate: AccessGate, settings: Settings
) -> None:
    subject = f"user-{uuid.uuid4().hex}"
    assert (await gate.admit(subject, "/auth/me")).allowed
    await connect_redis(settings).script_flush()  # as after a Redis restart
    assert (await gate.admit(subject, "/auth/me")).allowed
    assert int(await connect_redis(settings).get(rate_limit_key(subject, "/auth/me"))) == 2


async def test_checks_sent_together_survive_a_server_that_lost_its_scripts(
    gate: AccessGate, settings: Settings
) -> None:
    """A batch of checks finds the script gone: none of them ran, so each is sent again once
    the script is loaded, and each is counted exactly once."""
    subject = f"user-{uuid.uuid4().hex}"
    assert (await gate.admit(subject, "/auth/me")).allowed
    await connect_redis(settings).script_flush()
    admissions = await asyncio.gather(*(gate.admit(subject, "/auth/me") for _ in range(10)))
    assert all(admission.allowed for admission in admissions)
    assert int(await connect_redis(settings).get(rate_limit_key(subject, "/auth/me"))) == 11
