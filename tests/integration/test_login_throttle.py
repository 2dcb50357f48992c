"""Failed-login throttling against real Redis: per account, per client IP, forgiven on success,
and failing open when Redis is gone."""

import uuid

import pytest

from core.errors import RateLimited
from core.settings import Settings
from storage.keyvalue import connect_redis
from storage.login_throttle import LoginThrottle
from tests.conftest import free_port


@pytest.fixture
def throttle(settings: Settings) -> LoginThrottle:
    return LoginThrottle(connect_redis(settings), per_account=3, per_ip=5, window_seconds=60)


def fresh() -> tuple[str, str]:
    tag = uuid.uuid4().hex
    return f"{tag}@example.com", f"10.{tag[:2]}.{int(tag[2:4], 16)}.{int(tag[4:6], 16)}"


async def test_an_account_is_throttled_after_its_failure_limit(throttle: LoginThrottle) -> None:
    email, ip = fresh()
    for _ in range(3):
        await throttle.check(email, ip)
        await throttle.record_failure(email, ip)
    with pytest.raises(RateLimited) as refused:
        await throttle.check(email, f"{ip}-elsewhere")
    assert 1 <= refused.value.retry_after <= 60


async def test_an_ip_is_throttled_across_accounts(throttle: LoginThrottle) -> None:
    _, ip = fresh()
    for _ in range(5):
        await throttle.record_failure(fresh()[0], ip)
    with pytest.raises(RateLimited):
        await throttle.check(fresh()[0], ip)


async def test_success_forgives_the_account(throttle: LoginThrottle) -> None:
    email, ip = fresh()
    for _ in range(3):
        await throttle.record_failure(email, ip)
    await throttle.clear_account(email)
    await throttle.check(email, ip)


async def test_no_email_is_stored_in_redis(throttle: LoginThrottle, settings: Settings) -> None:
    email, ip = fresh()
    await throttle.record_failure(email, ip)
    keys = [key async for key in connect_redis(settings).scan_iter("login_failures:*")]
    assert keys and not any(email in key for key in keys)


async def test_without_redis_logins_are_not_throttled(settings: Settings) -> None:
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    throttle = LoginThrottle(connect_redis(dead), per_account=1, per_ip=1, window_seconds=60)
    email, ip = fresh()
    for _ in range(3):
        await throttle.record_failure(email, ip)
        await throttle.check(email, ip)
